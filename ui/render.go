package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// hang wraps text to width with prefix on the first line and as many
// spaces on the next ones, keeping atoms whole (wrapAtoms).
func hang(prefix, text string, width int) string {
	return wrapAtoms(prefix, text, width)
}

// renderPlan renders a step's plan: its title wrapped to width, one entry
// per item with its target relative to base, the detail parts on their own
// lines (mode and size, then subject ← issuer until expiry), then the notes.
func renderPlan(p *steps.Plan, base string, width int, st Styles) string {
	var b strings.Builder
	b.WriteString(st.Title.Render(hang("", p.Title, width)) + "\n")
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
// line of its own instead of breaking a name. Every line fits width (an
// atom wider than it is shortened, as wrapAtoms does).
func detailLines(part string, width int) string {
	const indent = "    "
	part = strings.Replace(part, " <- ", " ← ", 1)
	line := indent + part
	if ansi.StringWidth(line) <= width {
		return line
	}
	if head, date, ok := strings.Cut(part, " until "); ok && strings.Contains(head, " ← ") {
		return hang(indent, head, width) + "\n" + hang(indent+"  ", "until "+date, width)
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

// renderReport renders a validation report: verdict, class with its
// explanation, CA hash old → new, changed fields, warnings and errors.
func renderReport(rep *pki.Report, width int, st Styles) string {
	var b strings.Builder
	v := rep.Verdict()
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
