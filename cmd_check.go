package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/pki"
)

func (a *app) checkCommand() *cobra.Command {
	var services []string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report every certificate in the data dir with its expiry status",
		Long: "Lists the CA certificates and the leaf certificates of each service, like\n" +
			"`k3s certificate check`. Exits 1 when any certificate is expired, not yet\n" +
			"valid or inside the renewal window (--renew-days, default 120).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "table", "json")
			if err != nil {
				return err
			}
			p, err := a.product()
			if err != nil {
				return err
			}
			dd, err := a.dataDir()
			if err != nil {
				return err
			}
			window, err := a.renewWindow()
			if err != nil {
				return err
			}
			inv, err := pki.Inspect(cmd.Context(), pki.InspectOptions{
				DataDir: dd, Services: services, Now: a.now(), RenewWindow: window, Product: p,
			})
			if err != nil {
				return err
			}
			if err := writeInventory(a, inv, out); err != nil {
				return err
			}
			if inv.NeedsAttention() {
				return attentionError{fmt.Sprintf("some certificates are expired, not yet valid or expire within %d days", a.v.GetInt(keyRenewDays))}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&services, "service", "s", nil, "services to check, comma-separated (default all)")
	addOutputFlag(cmd.Flags(), "text, table or json")
	cmd.Flags().Int(keyRenewDays, 120, "renewal window in days (k3s renews leaf certs within 120 days of expiry)")
	return cmd
}

func writeInventory(a *app, inv *pki.Inventory, out string) error {
	switch out {
	case "json":
		b, err := inv.K3sJSON()
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(append(b, '\n'))
		return err
	default:
		return inv.WriteTable(a.stdout)
	}
}
