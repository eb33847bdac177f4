package main

import (
	"errors"
	"os"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/steps"
	"github.com/k3sca/k3sca/ui"
)

// Wizard settings.
const (
	keyPlain  = "plain"
	keyDryRun = "dry-run"
)

// errNoTerminal is the refusal to draw the wizard without a terminal.
var errNoTerminal = errors.New("the wizard needs a terminal on stdin and stderr; " +
	"use the headless commands instead (k3sca run --help lists the flows), or --plain for line-by-line prompts")

func (a *app) wizardCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wizard",
		Short: "The interactive wizard (also what `k3sca` alone opens)",
		Long: "Runs the step-by-step terminal wizard on the data dir. It drives the same\n" +
			"flows as `k3sca run`, previews every write and asks before it (default\n" +
			"No). The screen is drawn on stderr. --plain (or ACCESSIBLE=1) asks line by\n" +
			"line instead, with no full-screen drawing.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runWizard(cmd) },
	}
	a.addWizardFlags(cmd)
	return cmd
}

// addWizardFlags are the flags of the wizard (and of the root command).
func (a *app) addWizardFlags(cmd *cobra.Command) {
	cmd.Flags().Bool(keyPlain, false, "line-by-line prompts instead of the full-screen wizard (env ACCESSIBLE=1)")
	cmd.Flags().Bool(keyDryRun, false, "start in dry-run mode: every flow runs to its end and writes nothing")
	a.addFlowFlags(cmd)
}

// runWizard starts the TUI (or the plain prompts) on the configured data dir.
func (a *app) runWizard(cmd *cobra.Command) error {
	env, err := a.flowEnv(cmd)
	if err != nil {
		return err
	}
	env.Holder = "k3sca wizard"
	if a.log != nil {
		a.log.Info("wizard", "dataDir", env.DataDir)
		env.Log = a.log
	}
	_, source, err := a.dataDirSource()
	if err != nil {
		return err
	}
	cfg := ui.Config{Env: env, Specs: steps.Flows(), DryRun: a.v.GetBool(keyDryRun), Sandbox: node.IsSandbox(env.DataDir), DataDirSource: source}
	if a.v.GetBool(keyPlain) || os.Getenv("ACCESSIBLE") != "" {
		return ui.RunPlain(cmd.Context(), cfg, cmd.InOrStdin(), a.stderr)
	}
	if dumbTerminal() {
		a.printf("%s\n", dumbNote)
		return ui.RunPlain(cmd.Context(), cfg, cmd.InOrStdin(), a.stderr)
	}
	if !interactive() {
		return usageError{errNoTerminal}
	}
	return ui.Run(cmd.Context(), cfg, os.Stdin, a.stderr)
}

// dumbNote says why the wizard asks line by line on a dumb terminal.
const dumbNote = "TERM=dumb: this terminal cannot move the cursor, so the wizard asks line by line (as with --plain); set TERM (e.g. xterm-256color) for the full screen"

// dumbTerminal reports whether TERM says the terminal cannot draw a full
// screen (no cursor moves): "dumb", as Emacs shells and some CI consoles set.
func dumbTerminal() bool { return os.Getenv("TERM") == "dumb" }

// interactive reports whether stdin and stderr are terminals, so a wizard can be drawn.
func interactive() bool {
	return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stderr.Fd())
}
