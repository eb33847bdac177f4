package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
)

// certReport is the certificate report of a check: the table of every
// certificate with a cursor, the selected one's issuer, usages and expiry
// on a line of their own, `/` to filter by file, subject or status, enter
// to open one certificate (subject, issuer, serial, key ids, usages,
// validity, chain, file), and the files that are not present, named. It
// renders the inventory a step returned; it reads nothing itself.
type certReport struct {
	com    *Common
	inv    *pki.Inventory
	tlsDir string
	title  string
	// prev is the screen esc goes back to (the flow's end screen).
	prev screen

	cursor    int
	filter    textinput.Model
	filtering bool // `/` was pressed: keys go to the filter
	detail    bool // one certificate is open
}

// newCertReport opens the report of inv, esc going back to prev.
func newCertReport(c *Common, inv *pki.Inventory, tlsDir, title string, prev screen) *certReport {
	fi := newTextInput("")
	fi.Prompt = "/"
	return &certReport{com: c, inv: inv, tlsDir: tlsDir, title: title, prev: prev, filter: fi}
}

// Title implements screen.
func (r *certReport) Title() string {
	if r.detail {
		return r.title + " · one certificate"
	}
	return r.title + " · certificates"
}

// Init implements screen.
func (r *certReport) Init() tea.Cmd { return nil }

// SetSize implements screen.
func (r *certReport) SetSize(w, _ int) { r.filter.Width = max(10, w-4) }

// Typing implements screen: the filter takes every printable key.
func (r *certReport) Typing() bool { return r.filtering }

// Interrupt implements screen: nothing runs here.
func (r *certReport) Interrupt() tea.Cmd { return msgCmd(quitMsg{}) }

// table is the report's table at the body width.
func (r *certReport) table() certTable {
	return certTable{inv: r.inv, tlsDir: r.tlsDir, width: r.com.Width, st: r.com.Styles, filter: r.filter.Value(), cursor: r.cursor}
}

// selected is the certificate under the cursor, false when none is shown.
func (r *certReport) selected() (pki.CertInfo, bool) {
	rows := r.table().rows()
	if r.cursor < 0 || r.cursor >= len(rows) {
		return pki.CertInfo{}, false
	}
	return rows[r.cursor], true
}

// Update implements screen.
func (r *certReport) Update(msg tea.Msg) (screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return r, nil
	}
	switch {
	case r.filtering:
		return r, r.filterKey(k)
	case r.detail:
		if key.Matches(k, keys.Back, keys.Enter) {
			r.detail = false
		} else if key.Matches(k, keys.Quit) {
			return r, msgCmd(quitMsg{})
		}
		return r, nil
	}
	n := len(r.table().rows())
	switch {
	case key.Matches(k, keys.Back) && r.filter.Value() != "":
		r.filter.SetValue("")
		r.cursor = 0
	case key.Matches(k, keys.Back):
		return r, msgCmd(backMsg{s: r.prev})
	case key.Matches(k, keys.Quit):
		return r, msgCmd(quitMsg{})
	case key.Matches(k, filterKey):
		r.filtering = true
		r.filter.Focus()
	case key.Matches(k, keys.Enter) && n > 0:
		r.detail = true
	case key.Matches(k, keys.Up):
		r.cursor = max(0, r.cursor-1)
	case key.Matches(k, keys.Down):
		r.cursor = min(max(0, n-1), r.cursor+1)
	case key.Matches(k, keys.PageUp):
		r.cursor = max(0, r.cursor-r.page())
	case key.Matches(k, keys.PageDown):
		r.cursor = min(max(0, n-1), r.cursor+r.page())
	}
	return r, nil
}

// filterKey edits the filter: enter keeps it, esc clears it; the cursor
// goes back to the first certificate shown.
func (r *certReport) filterKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, keys.Enter):
		r.filtering = false
		r.filter.Blur()
	case key.Matches(k, keys.Back):
		r.filtering = false
		r.filter.Blur()
		r.filter.SetValue("")
		r.cursor = 0
	default:
		var cmd tea.Cmd
		r.filter, cmd = r.filter.Update(k)
		r.cursor = 0
		return cmd
	}
	return nil
}

// filterKey starts the filter.
var filterKey = key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter"))

// page is how far pgup and pgdn move the cursor.
func (r *certReport) page() int { return max(1, r.com.Height-8) }

// Help implements screen.
func (r *certReport) Help() keyHelp {
	switch {
	case r.filtering:
		return keyHelp{short: []key.Binding{with(keys.Enter, "enter", "keep the filter"), with(keys.Back, "esc", "clear it"), with(wholeKey, "ctrl+o", "whole lines")}}
	case r.detail:
		return keyHelp{short: []key.Binding{with(keys.Back, "esc", "back to the list"), wholeKey, keys.Quit, with(keys.Help, "?", "help")}}
	}
	back := with(keys.Back, "esc", "back")
	if r.filter.Value() != "" {
		back = with(keys.Back, "esc", "clear")
	}
	return keyHelp{
		short: []key.Binding{with(keys.Up, "↑↓", "select"), with(keys.Enter, "enter", "details"), filterKey, back, wholeKey, with(keys.Help, "?", "help")},
		more: []key.Binding{with(keys.PageUp, "pgup/pgdn", "a page up/down"), with(filterKey, "/", "filter by file, subject or status"),
			with(keys.Back, "esc", "clear the filter, then back to the flow"), keys.Quit},
	}
}

// View implements screen.
func (r *certReport) View() string {
	if r.detail {
		if c, ok := r.selected(); ok {
			return fitAround(strings.Split(r.detailView(c, r.com.Width), "\n"), 0, r.com.Height)
		}
	}
	top := r.topLines(r.com.Width)
	body, at := r.table().render()
	lines := strings.Split(body, "\n")
	room := max(3, r.com.Height-len(top))
	first := 0
	if at >= 0 && len(lines) > room {
		first = min(max(0, at-room/2), len(lines)-room)
	}
	lines = lines[first:min(len(lines), first+room)]
	return strings.Join(append(top, lines...), "\n")
}

// topLines are the lines above the table: how many certificates, the
// filter, and the selected certificate's issuer, usages and expiry.
func (r *certReport) topLines(width int) []string {
	st := r.com.Styles
	rows := r.table().rows()
	total := len(r.inv.CAs) + len(r.inv.Leaves)
	head := fmt.Sprintf("%d certificates (%d CA, %d leaf)", total, len(r.inv.CAs), len(r.inv.Leaves))
	if f := r.filter.Value(); f != "" || r.filtering {
		head += fmt.Sprintf(" · %d match the filter", len(rows))
	}
	lines := []string{st.Title.Render(hang("", head, width))}
	if r.filtering || r.filter.Value() != "" {
		lines = append(lines, r.filter.View())
	}
	if c, ok := r.selected(); ok {
		lines = append(lines, st.Dim.Render(hang("", fmt.Sprintf("%s: %s · issuer %s · usages %s · expires %s (%s, %s)",
			relTo(r.tlsDir, c.Path), c.Subject, c.Issuer, usagesText(c), c.Expiry().UTC().Format("2006-01-02 15:04 MST"), pki.FormatResidual(c.Residual), c.Status), width)))
	} else {
		lines = append(lines, st.Dim.Render("no certificate matches the filter; esc clears it"))
	}
	return append(lines, "")
}

// usagesText is a certificate's usages, comma-separated ("none" when empty).
func usagesText(c pki.CertInfo) string {
	if len(c.Usages) == 0 {
		return "none"
	}
	return strings.Join(c.Usages, ",")
}

// detailView is one certificate: every field of it and its chain up
// through the inventory's CAs, each value whole (an atom that does not fit
// stands on its own line).
func (r *certReport) detailView(c pki.CertInfo, width int) string {
	st := r.com.Styles
	kind := "leaf certificate"
	if c.IsCA {
		kind = "CA certificate"
	}
	field := func(name, value string) string {
		if value == "" {
			value = "(none)"
		}
		return hang(fmt.Sprintf("  %-13s ", name), value, width)
	}
	validity := fmt.Sprintf("%s to %s", c.NotBefore.UTC().Format("2006-01-02 15:04 MST"), c.NotAfter.UTC().Format("2006-01-02 15:04 MST"))
	lines := []string{
		st.Title.Render(hang("", c.Subject+" ("+kind+")", width)),
		"",
		field("file", c.Path),
		field("service", c.Service),
		field("subject", c.Subject),
		field("issuer", c.Issuer),
		field("serial", c.Serial),
		field("subject key", c.SubjectKeyID),
		field("authority key", c.AuthorityKeyID),
		field("usages", usagesText(c)),
		field("valid", validity),
		st.Status(c.Status).Render(field("status", fmt.Sprintf("%s, %s left", c.Status, pki.FormatResidual(c.Residual)))),
		"",
		st.Title.Render("Chain") + st.Dim.Render(" (as the certificates name their issuers; signatures not checked)"),
	}
	chain, rooted := r.inv.Chain(c)
	for i, link := range chain {
		lines = append(lines, hang(strings.Repeat("  ", i+1)+"└ ", fmt.Sprintf("%s · %s · %s", link.Subject, relTo(r.tlsDir, link.Path), link.Status), width))
	}
	if !rooted {
		lines = append(lines, st.Warn.Render(hang(strings.Repeat("  ", len(chain)+1)+"! ", "issuer "+chain[len(chain)-1].Issuer+" is not among the CA certificates of this data dir", width)))
	}
	return strings.Join(lines, "\n")
}

// Whole implements wholer: the open certificate, or every certificate the
// filter keeps with all the columns and the absent files, unshortened.
func (r *certReport) Whole() string {
	if c, ok := r.selected(); ok && r.detail {
		return r.detailView(c, wholeWidth)
	}
	t := r.table()
	t.width = wholeWidth
	body, _ := t.render()
	return strings.Join(append(r.topLines(wholeWidth), body), "\n")
}
