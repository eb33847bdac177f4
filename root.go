package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// rootCommand builds the whole command tree.
func (a *app) rootCommand() *cobra.Command {
	root := a.rootOnly()
	for _, sub := range a.subcommands() {
		root.AddCommand(sub.build())
	}
	return root
}

// commandTree is the command tree that runs args: the root with only the
// subcommand args name (a command's flags cost its build, and a process
// runs one command), else the whole tree (no subcommand: the wizard, the
// root's --help; help, completion and an unknown word, whose answers list
// every command).
func (a *app) commandTree(args []string) *cobra.Command {
	root := a.rootOnly()
	if name := firstWord(root, args); name != "" {
		for _, sub := range a.subcommands() {
			if sub.name == name {
				root.AddCommand(sub.build())
				return root
			}
		}
	}
	for _, sub := range a.subcommands() {
		root.AddCommand(sub.build())
	}
	return root
}

// subcommand is a top-level command of the tree, by name.
type subcommand struct {
	name  string
	build func() *cobra.Command
}

// subcommands are the top-level commands in the order help lists them
// (TestCommandTreeNames checks each name against its command's).
func (a *app) subcommands() []subcommand {
	return []subcommand{
		{"check", a.checkCommand},
		{"generate", a.generateCommand},
		{"validate", a.validateCommand},
		{"token", a.tokenCommand},
		{"rotate", a.rotateCommand},
		{"load", a.loadCommand},
		{"datastore", a.datastoreCommand},
		{"sandbox", a.sandboxCommand},
		{"wizard", a.wizardCommand},
		{"run", a.runCommand},
	}
}

// firstWord is the first word of args that is not a flag or a flag's
// value, read as cobra's Command.Find reads it (its stripFlags) with the
// flags of root: the name of the subcommand to run. "" when there is none.
func firstWord(root *cobra.Command, args []string) string {
	lookup := func(name string) *pflag.Flag {
		if f := root.Flags().Lookup(name); f != nil {
			return f
		}
		return root.PersistentFlags().Lookup(name)
	}
	shorthand := func(name string) *pflag.Flag {
		if f := root.Flags().ShorthandLookup(name); f != nil {
			return f
		}
		return root.PersistentFlags().ShorthandLookup(name)
	}
	noValue := func(f *pflag.Flag) bool { return f != nil && f.NoOptDefVal != "" }
	for len(args) > 0 {
		s := args[0]
		args = args[1:]
		switch {
		case s == "--":
			return ""
		case strings.HasPrefix(s, "--") && !strings.Contains(s, "=") && !noValue(lookup(s[2:])),
			strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "--") && !strings.Contains(s, "=") && len(s) == 2 && !noValue(shorthand(s[1:])):
			// --flag value, -f value: the next word is the value.
			if len(args) <= 1 {
				return ""
			}
			args = args[1:]
		case s != "" && !strings.HasPrefix(s, "-"):
			return s
		}
	}
	return ""
}

// rootOnly is the root command and its flags, without subcommands.
func (a *app) rootOnly() *cobra.Command {
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
