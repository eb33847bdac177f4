package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/pki"
)

// truncate shortens s to n display cells, marking the cut with "…" (for
// prose; atoms are shortened in the middle by elide).
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= n {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > n {
		r = r[:len(r)-1]
	}
	return string(r) + ellipsis
}

// pad truncates s to n cells and pads it with spaces to exactly n.
func pad(s string, n int) string {
	s = truncate(s, n)
	return s + strings.Repeat(" ", max(0, n-lipgloss.Width(s)))
}

// invColumn is a column of the certificate table, shared with every
// other rendering of an inventory (pki.InventoryColumns).
type invColumn = pki.InventoryColumn

// inventoryColumns are the columns of the table, in the order they are
// added when the screen is wide enough.
var inventoryColumns = pki.InventoryColumns

// tableGap is the space between two columns of the certificate table.
const tableGap = 2

// layoutInventory picks the columns of inventoryColumns that fit width
// and their widths, each from its widest cell; when even the columns that
// must show are too wide, FILE and SUBJECT shrink (to 12 cells at least).
func layoutInventory(certs []pki.CertInfo, tlsDir string, width int) ([]invColumn, []int) {
	widths := make([]int, len(inventoryColumns))
	for i, col := range inventoryColumns {
		widths[i] = ansi.StringWidth(col.Title)
		for _, c := range certs {
			widths[i] = max(widths[i], ansi.StringWidth(col.Cell(c, tlsDir)))
		}
	}
	var cols []invColumn
	var ws []int
	used := -tableGap
	for i, col := range inventoryColumns {
		if col.Must {
			cols, ws = append(cols, col), append(ws, widths[i])
			used += widths[i] + tableGap
		}
	}
	for i, col := range inventoryColumns {
		if !col.Must && used+tableGap+widths[i] <= width {
			cols, ws = append(cols, col), append(ws, widths[i])
			used += widths[i] + tableGap
		}
	}
	for over := used - width; over > 0; over = used - width {
		// Shrink the wider of the shrinkable columns, one cell at a time.
		at := -1
		for i, col := range cols {
			if col.Elide && ws[i] > 12 && (at < 0 || ws[i] > ws[at]) {
				at = i
			}
		}
		if at < 0 {
			break
		}
		ws[at]--
		used--
	}
	return cols, ws
}

// renderInventory renders the check table: a CA section and a leaf
// section with the columns of `k3sca check -o table` that fit width, the
// widths from the content. A cell that does not fit is shortened in the
// middle; the whole table (w) shows it whole, with the absent files named.
// Paths show relative to tlsDir; statuses are coloured through st.
func renderInventory(inv *pki.Inventory, tlsDir string, width int, st Styles) string {
	cols, ws := layoutInventory(append(slices.Clone(inv.CAs), inv.Leaves...), tlsDir, width)
	var b strings.Builder
	row := func(cells []string, status pki.Status) {
		var parts []string
		for i, cell := range cells {
			cell = elide(cell, ws[i])
			cell += strings.Repeat(" ", max(0, ws[i]-ansi.StringWidth(cell)))
			if cols[i].Title == "STATUS" && status != "" {
				cell = st.Status(status).Render(cell)
			}
			parts = append(parts, cell)
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, strings.Repeat(" ", tableGap)), " ") + "\n")
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.Title
	}
	section := func(title string, certs []pki.CertInfo) {
		b.WriteString(st.Title.Render(fmt.Sprintf("%s (%d)", title, len(certs))) + "\n")
		row(titles, "")
		for _, c := range certs {
			cells := make([]string, len(cols))
			for i, col := range cols {
				cells[i] = col.Cell(c, tlsDir)
			}
			row(cells, c.Status)
		}
	}
	section("Certificate authorities", inv.CAs)
	b.WriteString("\n")
	section("Leaf certificates", inv.Leaves)
	for _, f := range inv.Unreadable {
		b.WriteString(st.Bad.Render("unreadable: ") + relTo(tlsDir, f) + "\n")
	}
	if n := len(inv.Missing); n > 0 {
		note := fmt.Sprintf("%d listed files are not present (agent files, legacy certs k3s deletes at start); w names them.", n)
		if width >= wholeWidth {
			note = fmt.Sprintf("%d listed files are not present (agent files, legacy certs k3s deletes at start):", n)
		}
		b.WriteString("\n" + st.Dim.Render(hang("", note, width)) + "\n")
		if width >= wholeWidth {
			for _, f := range inv.Missing {
				b.WriteString("  " + f + "\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// relTo shows path relative to dir when it lies inside it.
func relTo(dir, path string) string { return pki.RelPath(dir, path) }
