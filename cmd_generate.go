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
			"`k3s certificate rotate-ca --path` expects. The live server/tls is only read.",
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
	var dryRun bool
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
			return a.runSteps(cmd, dryRun, "", steps.NewGenerate(in))
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Out, "out", "", "staging dir to create (files go to <out>/tls/...)")
	f.BoolVar(&in.Overwrite, "overwrite", false, "allow a non-empty --out")
	f.BoolVar(&dryRun, "dry-run", false, "print what would be written and write nothing")
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

// runSteps previews every step; with dryRun it prints the plans and stops,
// otherwise it runs each step and prints its summary. Plans go to stdout,
// progress to stderr.
//
// lockAs, when not "", names the command in the data dir's write lock,
// taken after the first plan and held to the end (see steps.Lock).
func (a *app) runSteps(cmd *cobra.Command, dryRun bool, lockAs string, all ...steps.Step) error {
	ctx := cmd.Context()
	for _, s := range all {
		plan, err := s.Preview(ctx)
		if err != nil {
			return err
		}
		if lockAs != "" && !dryRun {
			dd, err := a.dataDir()
			if err != nil {
				return err
			}
			release, err := steps.Lock(dd, lockAs, a.now())
			if err != nil {
				return err
			}
			defer release()
			lockAs = ""
		}
		if dryRun {
			if err := plan.Render(a.stdout); err != nil {
				return err
			}
			continue
		}
		summary, err := s.Run(ctx)
		if err != nil {
			return err
		}
		a.printf("%s: %s\n", s.Title(), summary)
		for _, n := range plan.Notes {
			a.printf("note: %s\n", n)
		}
	}
	if dryRun {
		a.printf("dry run: nothing was written\n")
	}
	return nil
}

// printf writes decoration to stderr.
func (a *app) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(a.stderr, format, args...)
}
