package main

import (
	"os"
	"path/filepath"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/steps"
	"github.com/k3sca/k3sca/ui"
)

func (a *app) wizardCommand() *cobra.Command {
	var stageRoot string
	cmd := &cobra.Command{
		Use:   "wizard",
		Short: "The interactive wizard: check, rotate CAs or the service key, rotate leaf certificates",
		Long: "Runs the step-by-step terminal wizard on the data dir. It drives the same\n" +
			"steps as the headless commands and previews every write before asking for\n" +
			"a typed confirmation. The screen is drawn on stderr.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runWizard(cmd, stageRoot)
		},
	}
	cmd.Flags().StringVar(&stageRoot, "stage-root", "", "parent dir of new staged dirs (default: the data dir's parent)")
	cmd.Flags().Int(keyRenewDays, 120, "renewal window in days")
	a.addDatastoreFlags(cmd)
	return cmd
}

// runWizard starts the TUI on the configured data dir.
func (a *app) runWizard(cmd *cobra.Command, stageRoot string) error {
	p, dd, err := a.target()
	if err != nil {
		return err
	}
	window, err := a.renewWindow()
	if err != nil {
		return err
	}
	if stageRoot == "" {
		stageRoot = filepath.Dir(filepath.Clean(dd))
	}
	access, err := a.accessInput()
	if err != nil {
		return err
	}
	cfg := ui.Config{
		DataDir: dd, Product: p, Now: a.now, Window: window, StageRoot: stageRoot,
		Sandbox: steps.IsSandbox(dd), Services: steps.Systemd{}, Token: a.v.GetString(keyToken),
		Access: access, ServerURL: a.v.GetString(keyServer),
	}
	return ui.Run(cmd.Context(), cfg, os.Stdin, a.stderr)
}

// interactive reports whether stdin and stderr are terminals, so a wizard can be drawn.
func interactive() bool {
	return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stderr.Fd())
}
