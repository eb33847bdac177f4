package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/steps"
	"github.com/k3sca/k3sca/steps/render"
)

// confirmFlags are the flags of a single-step command that writes: the
// same as `k3sca run`'s, checked by the same rule (steps.Flow.Needs): a
// writing step needs --yes, a step that asks for a typed word also needs
// --confirm <word>; a missing one is a usage error before anything runs.
type confirmFlags struct {
	dryRun, yes bool
	confirm     []string
}

// addConfirmFlags adds --dry-run and --yes to cmd, and --confirm when its
// step asks for a typed word (words: what it accepts, for the help).
func addConfirmFlags(cmd *cobra.Command, o *confirmFlags, dryRunHelp, words string) {
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, dryRunHelp)
	f.BoolVarP(&o.yes, "yes", "y", false, "confirm the writing step")
	if words != "" {
		stringSliceVarP(f, &o.confirm, "confirm", "", "typed confirmation: "+words)
	}
}

// commandEnv is the flow environment of a single-step command: the same
// settings as `k3sca run`, the lock held as holder. No single-step
// command reads the renewal window, and only load's flow has a version
// preflight, which finds the version itself: the version is not looked
// for here (settingsEnv), so generate, validate, token, rotate and
// datastore restore never run `k3s --version`.
func (a *app) commandEnv(cmd *cobra.Command, holder string, dryRun bool) (steps.Env, error) {
	env, err := a.settingsEnv(cmd)
	if err != nil {
		return steps.Env{}, err
	}
	env = env.WithDefaults()
	env.DryRun, env.Holder, env.Hook = dryRun, holder, a.loadHook
	if a.log != nil {
		env.Log = a.log
	}
	return env, nil
}

// runSingle runs the flow of a single-step command with the Runner of
// `k3sca run`: progress to stderr, confirmations from o. In a text dry run
// the plans go to stdout instead, as the command printed them before it
// ran on the flow engine.
func (a *app) runSingle(ctx context.Context, c *steps.Command, o confirmFlags, format string) (steps.Report, error) {
	r := steps.Runner{Out: a.stderr, Yes: o.yes, Words: o.confirm, DryRun: o.dryRun, Render: render.Data}
	textDry := o.dryRun && format != "json"
	if textDry {
		r.Out = nil
	}
	rep, err := r.Run(ctx, c.Flow)
	if textDry && err == nil {
		for _, st := range rep.Steps {
			if st.Plan == nil {
				continue
			}
			if werr := st.Plan.Render(a.stdout); werr != nil {
				return rep, werr
			}
		}
		a.printf("dry run: nothing was written\n")
	}
	return rep, err
}

// flowExit maps the error of a flow run to the CLI's exit: a missing
// confirmation is a usage error (exit 2), k3s's refusal (of the set or
// of the version) exit 3, the rest
// as it is (an unknown datastore outcome exits 4).
func flowExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, steps.ErrNotConfirmed):
		return usageError{err}
	case errors.Is(err, steps.ErrRefused), errors.Is(err, steps.ErrVersionRefused):
		return refusedError{err.Error()}
	}
	return err
}

// writeReport prints a flow's report: JSON, or one line per step (the
// summary `k3sca run` prints).
func (a *app) writeReport(rep steps.Report, format string) error {
	if format == "json" {
		return writeJSON(a.stdout, rep)
	}
	a.printSummary(rep)
	return nil
}

// runAndReport runs c and prints its report (a text dry run: its plans).
func (a *app) runAndReport(ctx context.Context, c *steps.Command, o confirmFlags, format string) error {
	rep, err := a.runSingle(ctx, c, o, format)
	if !o.dryRun || format == "json" {
		if werr := a.writeReport(rep, format); werr != nil && err == nil {
			return werr
		}
	}
	return flowExit(err)
}

// flowHint names the flow that does what a single-step command cannot do
// while k3s runs on SQLite: it stops k3s for the write and starts it again.
func flowHint(command string) string {
	return "k3s runs on SQLite without kine's socket, so the write needs it stopped; this flow stops it for the write and starts it again: " + command
}
