package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// hang wraps text to width with prefix on the first line and as many
// spaces on the next ones.
func hang(prefix, text string, width int) string {
	indent := strings.Repeat(" ", ansi.StringWidth(prefix))
	body := ansi.Wrap(text, max(10, width-len(indent)), " ,;/")
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = prefix + l
		} else {
			lines[i] = indent + l
		}
	}
	return strings.Join(lines, "\n")
}

// renderPlan renders a step's plan: one entry per item with its target
// relative to base, the detail parts on their own lines (mode and size,
// then subject ← issuer until expiry), then the notes.
func renderPlan(p *steps.Plan, base string, width int, st Styles) string {
	var b strings.Builder
	b.WriteString(st.Title.Render(p.Title) + "\n")
	for _, it := range p.Items {
		b.WriteString(hang(fmt.Sprintf("%-9s ", it.Action), relTo(base, it.Target), width) + "\n")
		for _, part := range strings.Split(it.Detail, "; ") {
			if part != "" {
				b.WriteString(st.Dim.Render(detailLines(part, width)) + "\n")
			}
		}
	}
	writeNotes(&b, p.Notes, width, st)
	return strings.TrimRight(b.String(), "\n")
}

// detailLines renders one detail of a plan item under it; a certificate
// ("subject <- issuer until date") that does not fit puts the date on a
// line of its own instead of breaking a name.
func detailLines(part string, width int) string {
	const indent = "    "
	part = strings.Replace(part, " <- ", " ← ", 1)
	line := indent + part
	if ansi.StringWidth(line) <= width {
		return line
	}
	if head, date, ok := strings.Cut(part, " until "); ok {
		return hang(indent, head, width) + "\n" + indent + "  until " + date
	}
	return hang(indent, part, width)
}

func writeNotes(b *strings.Builder, notes []string, width int, st Styles) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("\n" + st.Title.Render("Notes") + "\n")
	for _, n := range notes {
		b.WriteString(hang("• ", n, width) + "\n")
	}
}

// verdict is the one-word outcome of a validation report.
func verdict(rep *pki.Report) string {
	switch {
	case rep.Accepted:
		return "accepted: k3s takes this set without --force"
	case rep.OK:
		return "accepted only with --force"
	}
	return "refused: k3s would reject this set"
}

// renderReport renders a validation report: verdict, class with its
// explanation, CA hash old → new, changed fields, warnings and errors.
func renderReport(rep *pki.Report, width int, st Styles) string {
	var b strings.Builder
	v := verdict(rep)
	if rep.OK {
		v = st.OK.Render("✓ " + v)
	} else {
		v = st.Bad.Render("✗ " + v)
	}
	b.WriteString("verdict  " + v + "\n")
	b.WriteString("class    " + st.Title.Render(string(rep.Class)) + "\n")
	b.WriteString(hang("         ", rep.Class.Explain(), width) + "\n")
	b.WriteString("hash     " + orNone(rep.Hash.Old) + "\n")
	if rep.Hash.New != rep.Hash.Old {
		b.WriteString("       → " + orNone(rep.Hash.New) + "\n")
	} else {
		b.WriteString("         (unchanged)\n")
	}
	if len(rep.Changed) > 0 {
		b.WriteString(hang("changed  ", strings.Join(rep.Changed, ", "), width) + "\n")
	}
	for _, w := range rep.Warnings {
		b.WriteString(st.Warn.Render(hang("! ", w, width)) + "\n")
	}
	for _, e := range rep.Errors {
		b.WriteString(st.Bad.Render(hang("✗ ", e, width)) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// renderLoadPlan renders what a load will do: the datastore path and why,
// the key and revision, the backup, the field changes and the notes.
func renderLoadPlan(lp *steps.LoadPlan, p *steps.Plan, width int, st Styles) string {
	var b strings.Builder
	b.WriteString(hang(fmt.Sprintf("datastore %s: ", lp.Access.Via), lp.Access.Reason, width) + "\n")
	if lp.Key != "" {
		b.WriteString(fmt.Sprintf("key       %s at revision %d\n", lp.Key, lp.Revision))
	}
	for _, it := range p.Items {
		if it.Action == steps.ActBackup || (it.Action == steps.ActDatastore && it.Target == lp.Key) {
			b.WriteString(hang(fmt.Sprintf("%-9s ", it.Action), it.Target+": "+it.Detail, width) + "\n")
		}
	}
	b.WriteString(fmt.Sprintf("\n%s\n", st.Title.Render(fmt.Sprintf("Changes (%d fields)", len(lp.Changes)))))
	for _, c := range lp.Changes {
		b.WriteString(hang(fmt.Sprintf("%-19s ", c.Field), changeLine(c.OldSize, c.NewSize, c.OldSHA256, c.NewSHA256), width) + "\n")
	}
	for _, c := range lp.Unstaged {
		b.WriteString(st.Warn.Render(hang("! ", c.Field+" is not staged but differs on this server: "+c.String(), width)) + "\n")
	}
	var notes []string
	for _, n := range p.Notes {
		if !strings.HasPrefix(n, "datastore: ") {
			notes = append(notes, n)
		}
	}
	writeNotes(&b, notes, width, st)
	return strings.TrimRight(b.String(), "\n")
}

// changeLine describes a field change in one short line: sizes and the
// first 12 hex digits of the SHA-256 before and after, never content.
func changeLine(oldSize, newSize int, oldSHA, newSHA string) string {
	short := func(h string) string { return h[:min(12, len(h))] }
	switch {
	case oldSHA == "":
		return fmt.Sprintf("added, %d bytes, sha256 %s", newSize, short(newSHA))
	case newSHA == "":
		return fmt.Sprintf("removed, was %d bytes", oldSize)
	}
	return fmt.Sprintf("%d → %d bytes, sha256 %s → %s", oldSize, newSize, short(oldSHA), short(newSHA))
}

// restartOrder is what the operator does after a load.
var restartOrder = []string{
	"restart the servers one at a time, waiting for each to be Ready;",
	"then restart the agents;",
	"give every node that joined with a secure token the new token.",
}

// tokenLine shows a token masked unless show is set.
func tokenLine(t *pki.Token, show bool) string {
	switch {
	case t == nil:
		return "(the server token is not readable here; see k3sca token)"
	case show:
		return t.String()
	}
	return t.Masked()
}

// forcedOrder follows restartOrder after a forced load.
const forcedOrder = "expect every pod using a service-account token to restart: the root of trust is new."

// renderDone renders the end of a load: the new CA hash, the new token
// (masked unless show), the restart order (longer after a forced load) and,
// after a simulated restart, what it changed.
func renderDone(hash string, tok *pki.Token, show, forced bool, rr *steps.RestartReport, width int, st Styles) string {
	var b strings.Builder
	b.WriteString("new CA hash  " + hash + "\n")
	b.WriteString("new token    (s shows or hides the secret)\n" + ansi.Hardwrap(tokenLine(tok, show), max(10, width), false) + "\n")
	b.WriteString("\n" + st.Title.Render("Restart order") + "\n")
	order := restartOrder
	if forced {
		order = append(order[:len(order):len(order)], forcedOrder)
	}
	for i, s := range order {
		b.WriteString(hang(fmt.Sprintf("%d. ", i+1), s, width) + "\n")
	}
	if rr != nil {
		b.WriteString("\n" + st.Title.Render("Simulated restart") + "\n")
		b.WriteString(hang("", fmt.Sprintf("%d bootstrap files taken from the datastore (%s); %d leaf files re-issued.",
			len(rr.Updated), strings.Join(rr.Updated, ", "), rr.Leaves), width) + "\n")
		b.WriteString("server token now\n" + ansi.Hardwrap(tokenLine(&rr.Token, show), max(10, width), false) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
