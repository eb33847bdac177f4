package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "k3sca",
		Short:         "Certificate-authority life cycle for k3s clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: "k3sca walks a k3s operator through the CA life cycle of a cluster.\n" +
			"Run alone in a terminal it opens the wizard; the subcommands are headless.",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.bindSettings(cmd); err != nil {
				return err
			}
			return a.openLog(cmd)
		},
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runWizard(cmd) },
	}
	a.addWizardFlags(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfgFile, keyConfig, "", "config file (default ~/.config/k3sca/config.yaml; env K3SCA_CONFIG)")
	pf.String(keyProduct, "k3s", "product: k3s or rke2 (env K3SCA_PRODUCT)")
	pf.StringP(keyDataDir, "d", "", "k3s data dir (default /var/lib/rancher/<product>; env K3SCA_DATA_DIR)")
	pf.String(keyLog, "", "append a log of the command (and of every step of a flow) to this file; never secrets")
	root.AddCommand(
		a.checkCommand(),
		a.generateCommand(),
		a.validateCommand(),
		a.tokenCommand(),
		a.rotateCommand(),
		a.loadCommand(),
		a.datastoreCommand(),
		a.sandboxCommand(),
		a.wizardCommand(),
		a.runCommand(),
	)
	return root
}

// noArgs rejects positional arguments as a usage error.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// writeJSON writes v as indented JSON with a trailing newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return nil
}
