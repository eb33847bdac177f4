package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

func (a *app) rotateCommand() *cobra.Command {
	var services []string
	var o confirmFlags
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate leaf certificates by service name, like `k3s certificate rotate`",
		Long: "Backs up server/tls to server/tls-<unix>, removes the certificates of the\n" +
			"named services and, for k3s-server, writes dynamic-cert-regenerate. Run it\n" +
			"with k3s stopped; k3s re-issues the certificates when it starts.\n" +
			"It is the rotate step of `k3sca run rotate-certs` (which also stops and\n" +
			"starts k3s), on the same engine: it needs --yes (exit 2 without it,\n" +
			"nothing changed); --dry-run shows the plan.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := a.output("text", "json")
			if err != nil {
				return err
			}
			env, err := a.commandEnv(cmd, "k3sca rotate", o.dryRun)
			if err != nil {
				return err
			}
			c, err := steps.RotateCommand(env, services)
			if errors.Is(err, pki.ErrUnknownService) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			unit := env.Product.ServerUnit()
			if active, err := env.Services.IsActive(cmd.Context(), unit); err == nil && active {
				a.printf("warning: %s is running; the removed certificates are re-issued only when it restarts\n", unit)
			}
			return a.runAndReport(cmd.Context(), c, o, format)
		},
	}
	stringSliceVarP(cmd.Flags(), &services, "service", "s", "services to rotate, comma-separated (default all)")
	addConfirmFlags(cmd, &o, "print what would change and change nothing", "")
	addOutputFlag(cmd.Flags(), "text or json (the flow report, as k3sca run prints it)")
	return cmd
}
