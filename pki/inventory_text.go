package pki

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// InventoryColumn is a column of the certificate table: its title and its
// cell. Every renderer of an inventory for a person (the headless report,
// the wizard's table; check's text can adopt it) takes its columns from
// InventoryColumns, so they show the same cells under the same titles.
type InventoryColumn struct {
	// Title heads the column.
	Title string
	// Cell is c's cell; paths show relative to tlsDir when inside it.
	Cell func(c CertInfo, tlsDir string) string
	// Must marks the columns every rendering shows; a wide screen adds
	// the others, in order.
	Must bool
	// Elide marks the columns a narrow screen may shorten in the middle
	// (FILE and SUBJECT); the text rendering never cuts a cell.
	Elide bool
}

// InventoryColumns are the certificate table's columns, the ones that
// must show first, then the others in the order a wide screen adds them.
var InventoryColumns = []InventoryColumn{
	{Title: "FILE", Cell: func(c CertInfo, tls string) string { return RelPath(tls, c.Path) }, Must: true, Elide: true},
	{Title: "SUBJECT", Cell: func(c CertInfo, _ string) string { return c.Subject }, Must: true, Elide: true},
	{Title: "STATUS", Cell: func(c CertInfo, _ string) string { return string(c.Status) }, Must: true},
	{Title: "LEFT", Cell: func(c CertInfo, _ string) string { return FormatResidual(c.Residual) }, Must: true},
	{Title: "EXPIRES", Cell: func(c CertInfo, _ string) string { return c.Expiry().UTC().Format("2006-01-02") }},
	{Title: "ISSUER", Cell: func(c CertInfo, _ string) string { return c.Issuer }},
	{Title: "USAGES", Cell: func(c CertInfo, _ string) string { return strings.Join(c.Usages, ",") }},
	{Title: "SERVICE", Cell: func(c CertInfo, _ string) string { return c.Service }},
}

// RelPath shows path relative to dir (with slashes) when it lies inside
// it, else whole.
func RelPath(dir, path string) string {
	if dir == "" {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return path
}

// WriteText renders inv as plain text for a person: one line per
// certificate (CAs first, marked CA; then the leaves; then the admin
// kubeconfig's and the datastore's certificates, marked so) with the
// columns that must show,
// aligned with text/tabwriter and never cut, so a path or a subject
// copied from it is whole; then the unreadable files. (WriteTable is
// k3s's own `certificate check -o table` layout, K3sJSON its JSON.)
func (inv *Inventory) WriteText(w io.Writer, tlsDir string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var cols []InventoryColumn
	head := []string{""}
	for _, c := range InventoryColumns {
		if c.Must {
			cols, head = append(cols, c), append(head, c.Title)
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, group := range []struct {
		kind  string
		certs []CertInfo
	}{{"CA", inv.CAs}, {"", inv.Leaves}, {"kubeconfig", inv.Kubeconfig}, {"datastore", inv.Datastore}} {
		for _, c := range group.certs {
			cells := []string{group.kind}
			for _, col := range cols {
				cells = append(cells, col.Cell(c, tlsDir))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	for _, f := range inv.Unreadable {
		if _, err := fmt.Fprintf(w, "unreadable: %s\n", RelPath(tlsDir, f)); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	return nil
}
