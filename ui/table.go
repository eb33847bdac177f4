package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
)

// column describes one table column for fitWidths: a fixed column has
// Min == Max; Max 0 means it takes a share of the remaining width.
type column struct {
	Title    string
	Min, Max int
}

// colGap is the space between two columns.
const colGap = 1

// fitWidths gives each column a width so that the row fits in total: every
// column gets its Min, fixed ones their Max, and flexible ones share what
// is left evenly (the first ones get the remainder). Widths never go below Min.
func fitWidths(total int, cols []column) []int {
	w := make([]int, len(cols))
	used := colGap * (len(cols) - 1)
	var flex []int
	for i, c := range cols {
		w[i] = c.Min
		used += c.Min
		if c.Max == 0 {
			flex = append(flex, i)
		}
	}
	for i, c := range cols {
		if c.Max > c.Min && used < total {
			add := min(c.Max-c.Min, total-used)
			w[i] += add
			used += add
		}
	}
	if len(flex) == 0 || used >= total {
		return w
	}
	spare := total - used
	for k, i := range flex {
		w[i] += spare / len(flex)
		if k < spare%len(flex) {
			w[i]++
		}
	}
	return w
}

// truncate shortens s to n display cells, marking the cut with "~".
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
	return string(r) + "~"
}

// pad truncates s to n cells and pads it with spaces to exactly n.
func pad(s string, n int) string {
	s = truncate(s, n)
	return s + strings.Repeat(" ", max(0, n-lipgloss.Width(s)))
}

// inventoryColumns are the columns of the check table.
var inventoryColumns = []column{
	{Title: "FILE", Min: 12}, {Title: "SUBJECT", Min: 12}, {Title: "STATUS", Min: 13, Max: 13}, {Title: "LEFT", Min: 8, Max: 8},
}

// renderInventory renders the check table: a CA section and a leaf section
// with FILE / SUBJECT / STATUS / LEFT fitting width. Paths show relative to
// tlsDir; statuses are coloured through st.
func renderInventory(inv *pki.Inventory, tlsDir string, width int, st Styles) string {
	w := fitWidths(width, inventoryColumns)
	var b strings.Builder
	row := func(cells [4]string, status pki.Status) {
		stat := pad(cells[2], w[2])
		if status != "" {
			stat = st.Status(status).Render(stat)
		}
		line := strings.Join([]string{pad(cells[0], w[0]), pad(cells[1], w[1]), stat, truncate(cells[3], w[3])}, strings.Repeat(" ", colGap))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	section := func(title string, certs []pki.CertInfo) {
		b.WriteString(st.Title.Render(fmt.Sprintf("%s (%d)", title, len(certs))) + "\n")
		row([4]string{"FILE", "SUBJECT", "STATUS", "LEFT"}, "")
		for _, c := range certs {
			row([4]string{relTo(tlsDir, c.Path), c.Subject, string(c.Status), pki.FormatResidual(c.Residual)}, c.Status)
		}
	}
	section("Certificate authorities", inv.CAs)
	b.WriteString("\n")
	section("Leaf certificates", inv.Leaves)
	for _, f := range inv.Unreadable {
		b.WriteString(st.Bad.Render("unreadable: ") + relTo(tlsDir, f) + "\n")
	}
	if n := len(inv.Missing); n > 0 {
		b.WriteString("\n" + st.Dim.Render(hang("", fmt.Sprintf("%d listed files are not present (agent files, legacy certs k3s deletes at start).", n), width)) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// relTo shows path relative to dir when it lies inside it.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return path
}
