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

// invColumn is a column of the certificate table: one of
// pki.InventoryColumns (its title and cell, shared with every other
// rendering of an inventory), with the wizard's own layout.
type invColumn struct {
	pki.InventoryColumn
	// spare marks a column that must show but goes when FILE and SUBJECT
	// cannot shrink enough (EXPIRES: LEFT says nearly as much).
	spare bool
}

// inventoryColumns are pki.InventoryColumns laid out for the wizard, in
// the order they are dropped from the right when the screen is narrow:
// FILE, SUBJECT, STATUS, EXPIRES and LEFT always show (EXPIRES moved
// before LEFT, spare); ISSUER, USAGES and SERVICE when they fit (the
// report's selected line and a certificate's detail show them at any
// width).
var inventoryColumns = wizardColumns(pki.InventoryColumns)

// wizardColumns lays cols out for the wizard: EXPIRES must show, as a
// spare column, just before LEFT.
func wizardColumns(cols []pki.InventoryColumn) []invColumn {
	var out []invColumn
	var expires *invColumn
	for _, c := range cols {
		if c.Title == "EXPIRES" {
			c.Must = true
			expires = &invColumn{InventoryColumn: c, spare: true}
			continue
		}
		out = append(out, invColumn{InventoryColumn: c})
	}
	if expires != nil {
		for i, c := range out {
			if c.Title == "LEFT" {
				return slices.Insert(out, i, *expires)
			}
		}
		out = append(out, *expires)
	}
	return out
}

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
	least := used
	for i, col := range cols {
		if col.Elide {
			least -= max(0, ws[i]-12)
		}
	}
	if spare := slices.IndexFunc(cols, func(c invColumn) bool { return c.spare }); least > width && spare >= 0 {
		// Even FILE and SUBJECT at their least leave no room: the spare
		// column goes first, so they shrink only as much as they must.
		used -= ws[spare] + tableGap
		cols, ws = slices.Delete(cols, spare, spare+1), slices.Delete(ws, spare, spare+1)
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

// certTable renders an inventory as the check table: a CA section and a
// leaf section with the columns that fit width, then the files that are
// not present, named. Filter keeps the certificates whose file, subject
// or status holds it (case-insensitive); cursor marks one of the shown
// certificates (CAs first, then leaves; -1: no cursor, no mark column).
type certTable struct {
	inv    *pki.Inventory
	tlsDir string
	width  int
	st     Styles
	filter string
	cursor int
}

// matches reports whether the filter keeps c.
func (t certTable) matches(c pki.CertInfo) bool {
	return t.filter == "" || containsFold(relTo(t.tlsDir, c.Path), t.filter) ||
		containsFold(c.Subject, t.filter) || containsFold(string(c.Status), t.filter)
}

// containsFold reports whether s holds sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// shown are the CAs and leaves the filter keeps.
func (t certTable) shown() (cas, leaves []pki.CertInfo) {
	for _, c := range t.inv.CAs {
		if t.matches(c) {
			cas = append(cas, c)
		}
	}
	for _, c := range t.inv.Leaves {
		if t.matches(c) {
			leaves = append(leaves, c)
		}
	}
	return cas, leaves
}

// rows are the shown certificates in table order, as the cursor counts them.
func (t certTable) rows() []pki.CertInfo {
	cas, leaves := t.shown()
	return append(cas, leaves...)
}

// missing are the absent files the filter keeps (by path).
func (t certTable) missing() []string {
	var out []string
	for _, f := range t.inv.Missing {
		if t.filter == "" || containsFold(relTo(t.tlsDir, f), t.filter) {
			out = append(out, f)
		}
	}
	return out
}

// render renders the table and says on which line the cursor's row is
// (-1: none).
func (t certTable) render() (string, int) {
	cas, leaves := t.shown()
	mark := 0
	if t.cursor >= 0 {
		mark = 2
	}
	// Widths from every certificate, not only the shown ones: filtering
	// does not move the columns.
	cols, ws := layoutInventory(append(slices.Clone(t.inv.CAs), t.inv.Leaves...), t.tlsDir, t.width-mark)
	var lines []string
	cursorLine, n := -1, 0
	row := func(cells []string, status pki.Status, selected bool) {
		var parts []string
		for i, cell := range cells {
			cell = elide(cell, ws[i])
			cell += strings.Repeat(" ", max(0, ws[i]-ansi.StringWidth(cell)))
			if cols[i].Title == "STATUS" && status != "" && !selected {
				cell = t.st.Status(status).Render(cell)
			}
			parts = append(parts, cell)
		}
		line := strings.TrimRight(strings.Join(parts, strings.Repeat(" ", tableGap)), " ")
		switch {
		case selected:
			line = t.st.Selected.Render("▸ " + line)
		case mark > 0:
			line = "  " + line
		}
		lines = append(lines, line)
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.Title
	}
	section := func(title string, certs []pki.CertInfo, all int) {
		head := fmt.Sprintf("%s (%d)", title, all)
		if len(certs) != all {
			head = fmt.Sprintf("%s (%d of %d)", title, len(certs), all)
		}
		lines = append(lines, t.st.Title.Render(head))
		if len(certs) == 0 {
			lines = append(lines, t.st.Dim.Render("(none)"))
			return
		}
		row(titles, "", false)
		for _, c := range certs {
			cells := make([]string, len(cols))
			for i, col := range cols {
				cells[i] = col.Cell(c, t.tlsDir)
			}
			if n == t.cursor {
				cursorLine = len(lines)
			}
			row(cells, c.Status, n == t.cursor)
			n++
		}
	}
	section("Certificate authorities", cas, len(t.inv.CAs))
	lines = append(lines, "")
	section("Leaf certificates", leaves, len(t.inv.Leaves))
	for _, f := range t.inv.Unreadable {
		lines = append(lines, t.st.Bad.Render("unreadable: ")+relTo(t.tlsDir, f))
	}
	if miss := t.missing(); len(miss) > 0 {
		lines = append(lines, "", t.st.Dim.Render(hang("", fmt.Sprintf("Not present (%d; agent files, legacy certs k3s deletes at start):", len(miss)), t.width)))
		for _, f := range miss {
			lines = append(lines, "  "+elide(relTo(t.tlsDir, f), t.width-2))
		}
	}
	return strings.Join(lines, "\n"), cursorLine
}

// renderInventory renders the check table with no cursor and no filter.
// Paths show relative to tlsDir; statuses are coloured through st.
func renderInventory(inv *pki.Inventory, tlsDir string, width int, st Styles) string {
	s, _ := certTable{inv: inv, tlsDir: tlsDir, width: width, st: st, cursor: -1}.render()
	return s
}

// relTo shows path relative to dir when it lies inside it.
func relTo(dir, path string) string { return pki.RelPath(dir, path) }
