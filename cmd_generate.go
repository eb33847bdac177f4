package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

func (a *app) generateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Stage a new CA set, a cross-signed rotation or a new service-account key",
		Long: "Writes a complete staged directory laid out as <out>/tls/..., the layout\n" +
			"`k3s certificate rotate-ca --path` expects. The live server/tls is only read.\n" +
			"It is the generate step of the CA flows of `k3sca run`, on the same engine:\n" +
			"writing needs --yes (exit 2 without it, nothing written); --dry-run shows the\n" +
			"plan.",
	}
	for _, kind := range steps.GenerateKinds {
		cmd.AddCommand(a.generateKindCommand(kind))
	}
	return cmd
}

var generateShort = map[steps.GenerateKind]string{
	steps.GenCustomCA:   "custom CA set signed by an imported or generated root and intermediate",
	steps.GenRotation:   "cross-signed rotation of k3s's self-signed CAs (passes validation without --force)",
	steps.GenServiceKey: "new service-account signing key, old keys kept",
}

func (a *app) generateKindCommand(kind steps.GenerateKind) *cobra.Command {
	in := steps.GenerateInput{Kind: kind}
	var o confirmFlags
	var rootKeyType, serviceKeyType string
	cmd := &cobra.Command{
		Use:   string(kind),
		Short: generateShort[kind],
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Out == "" {
				return usagef("--out is required")
			}
			p, err := a.product()
			if err != nil {
				return err
			}
			if in.DataDir, err = a.dataDir(); err != nil {
				return err
			}
			in.Opts = pki.GenOptions{Product: p, Now: a.now()}
			if in.Opts.KeyType, err = pki.ParseKeyType(a.v.GetString(keyKeyType)); err != nil {
				return usageError{err}
			}
			if rootKeyType != "" {
				if in.Opts.RootKeyType, err = pki.ParseKeyType(rootKeyType); err != nil {
					return usageError{err}
				}
			}
			if serviceKeyType != "" {
				if in.Opts.ServiceKeyType, err = pki.ParseKeyType(serviceKeyType); err != nil {
					return usageError{err}
				}
			}
			format, err := a.output("text", "json")
			if err != nil {
				return err
			}
			env, err := a.commandEnv(cmd, "k3sca generate", o.dryRun)
			if err != nil {
				return err
			}
			return a.runAndReport(cmd.Context(), steps.GenerateCommand(env, in), o, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Out, "out", "", "staging dir to create (files go to <out>/tls/...)")
	f.BoolVar(&in.Overwrite, "overwrite", false, "allow a non-empty --out")
	addConfirmFlags(cmd, &o, "print what would be written and write nothing", "")
	addOutputFlag(f, "text or json (the flow report, as k3sca run prints it)")
	f.String(keyKeyType, "ecdsa-p256", "key type of the new CAs: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519")
	if kind == steps.GenCustomCA {
		f.StringVar(&in.RootCert, "root-cert", "", "existing root CA certificate (PEM)")
		f.StringVar(&in.RootKey, "root-key", "", "existing root CA private key (PEM, unencrypted)")
		f.StringVar(&in.IntermediateCert, "intermediate-cert", "", "existing intermediate CA certificate (PEM)")
		f.StringVar(&in.IntermediateKey, "intermediate-key", "", "existing intermediate CA private key (PEM, unencrypted)")
		f.StringVar(&rootKeyType, "root-key-type", "", "key type of a generated root and intermediate (default: --key-type)")
	}
	if kind != steps.GenRotation {
		f.StringVar(&serviceKeyType, "service-key-type", "", "key type of the new service-account key (default rsa-2048; ed25519 refused)")
	}
	return cmd
}

// printf writes decoration to stderr.
func (a *app) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(a.stderr, format, args...)
}
