package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
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
			p, dd, err := a.target()
			if err != nil {
				return err
			}
			k3s := steps.DetectK3sVersion(cmd.Context(), steps.Env{DataDir: dd, Product: p, Services: steps.DetectServices(dd), ServerURL: a.v.GetString(keyServer), Now: a.now})
			window, why, err := a.renewWindow(cmd, k3s)
			if err != nil {
				return err
			}
			if why != "" {
				a.printf("%s\n", why)
			}
			inv, err := steps.Check(cmd.Context(), steps.CheckInput{
				DataDir: dd, Services: services, Now: a.now(), Window: window, Product: p,
			})
			if err != nil {
				return err
			}
			if err := writeInventory(a, inv, out, filepath.Join(product.ServerDir(dd), pki.TLSDir)); err != nil {
				return err
			}
			return a.checkAttention(inv, window)
		},
	}
	cmd.Flags().StringSliceVarP(&services, "service", "s", nil, "services to check, comma-separated (default all)")
	addOutputFlag(cmd.Flags(), "text, table or json")
	cmd.Flags().Int(keyRenewDays, defaultRenewDays, "renewal window in days (default: the window of the k3s version found; k3s renews leaf certs within 120 days of expiry, 90 before the 2025-05 releases)")
	return cmd
}

// checkAttention is the exit of a check: 1 when a certificate needs the
// operator (check and run check exit alike).
func (a *app) checkAttention(inv *pki.Inventory, window time.Duration) error {
	if inv.NeedsAttention() {
		return attentionError{fmt.Sprintf("some certificates are expired, not yet valid or expire within %d days", int(window/(24*time.Hour)))}
	}
	return nil
}

func writeInventory(a *app, inv *pki.Inventory, out, tlsDir string) error {
	switch out {
	case "json":
		b, err := inv.K3sJSON()
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(append(b, '\n'))
		return err
	case "table":
		return inv.WriteTable(a.stdout)
	}
	return writeInventoryText(a, inv, tlsDir)
}

// writeInventoryText prints one line per certificate, aligned with
// text/tabwriter like `datastore backups`: nothing is ever cut, so a path
// or a subject copied from it is whole (wide names widen the column).
func writeInventoryText(a *app, inv *pki.Inventory, tlsDir string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tFILE\tSUBJECT\tSTATUS\tLEFT")
	for _, group := range []struct {
		kind  string
		certs []pki.CertInfo
	}{{"CA", inv.CAs}, {"", inv.Leaves}} {
		for _, c := range group.certs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", group.kind, relTo(tlsDir, c.Path), c.Subject, c.Status, pki.FormatResidual(c.Residual))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	for _, f := range inv.Unreadable {
		if _, err := fmt.Fprintf(a.stdout, "unreadable: %s\n", f); err != nil {
			return err
		}
	}
	if len(inv.Missing) > 0 {
		a.printf("%d listed files are not present (agent files, legacy certs k3s deletes at start); see -o table\n", len(inv.Missing))
	}
	return nil
}

// relTo shows path relative to dir when it lies inside it.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
