package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

func (a *app) rotateCommand() *cobra.Command {
	var services []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate leaf certificates by service name, like `k3s certificate rotate`",
		Long: "Backs up server/tls to server/tls-<unix>, removes the certificates of the\n" +
			"named services and, for k3s-server, writes dynamic-cert-regenerate. Run it\n" +
			"with k3s stopped; k3s re-issues the certificates when it starts.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, dd, err := a.target()
			if err != nil {
				return err
			}
			step, err := steps.NewLeafRotate(p, dd, services, a.now())
			if errors.Is(err, pki.ErrUnknownService) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if active, err := steps.DetectServices(dd).IsActive(cmd.Context(), p.ServerUnit()); err == nil && active {
				a.printf("warning: %s is running; the removed certificates are re-issued only when it restarts\n", p.ServerUnit())
			}
			return a.runSteps(cmd, dryRun, "k3sca rotate", step)
		},
	}
	cmd.Flags().StringSliceVarP(&services, "service", "s", nil, "services to rotate, comma-separated (default all)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change and change nothing")
	return cmd
}
