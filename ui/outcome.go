package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
	"github.com/k3sca/k3sca/steps/render"
)

// outcomeView renders outcomes: the theme, the width, the TLS dir the
// inventory table shows paths relative to, and whether token lines show.
type outcomeView struct {
	st     Styles
	width  int
	tlsDir string
	reveal bool
}

func newOutcomeView(c *Common, reveal bool) outcomeView {
	tls := filepath.Join(product.ServerDir(c.Env.DataDir), pki.TLSDir)
	return outcomeView{st: c.Styles, width: c.Width, tlsDir: tls, reveal: reveal}
}

// narrower returns v for content indented by n columns.
func (v outcomeView) narrower(n int) outcomeView {
	v.width = max(20, v.width-n)
	return v
}

// outcome renders what a step did: the summary, the warnings ("!"), the
// details, the structured data (an inventory as the certificate table, a
// validation report) and the token lines, masked unless revealed.
func (v outcomeView) outcome(o *steps.Outcome) string {
	var b []string
	if o.Summary != "" {
		b = append(b, hang("", o.Summary, v.width))
	}
	for _, w := range o.Warnings {
		b = append(b, v.st.Warn.Render(hang("! ", w, v.width)))
	}
	for _, d := range o.Details {
		b = append(b, hang("", d, v.width))
	}
	switch data := o.Data.(type) {
	case *pki.Inventory:
		b = append(b, "", renderInventory(data, v.tlsDir, v.width, v.st))
	case *pki.Report:
		b = append(b, "", renderReport(data, v.width, v.st))
	}
	b = append(b, v.secrets(o)...)
	return strings.Join(b, "\n")
}

// secrets are the token lines: Secret when revealed, Masked otherwise.
func (v outcomeView) secrets(o *steps.Outcome) []string {
	if len(o.Secret) == 0 {
		return nil
	}
	lines, note := o.Masked, "(hidden: t shows the token)"
	if v.reveal {
		lines, note = o.Secret, "(shown: t hides the token)"
	}
	out := make([]string, 0, len(lines)+1)
	for _, l := range lines {
		out = append(out, wrapAtoms("", l, v.width))
	}
	return append(out, v.st.Dim.Render(note))
}

// hasSecrets reports whether any step's outcome holds token lines.
func hasSecrets(reps []steps.StepReport) bool {
	for _, r := range reps {
		if r.Outcome != nil && len(r.Outcome.Secret) > 0 {
			return true
		}
	}
	return false
}

// statusWord says in words what a step's mark means, so the mark's colour
// is never the only clue.
func statusWord(r steps.StepReport) string {
	switch r.Status {
	case steps.StatusSkipped:
		if r.Reason != "" {
			return "skipped: " + r.Reason
		}
		return "skipped"
	case steps.StatusPlanned:
		return "planned, not run (dry run)"
	case steps.StatusFailed:
		return "failed"
	case steps.StatusDeclined:
		return "declined"
	case steps.StatusRunning:
		return "running"
	case steps.StatusDone:
		return "done"
	}
	if r.Writes {
		return "writes"
	}
	return ""
}

// listTail is what the step list says after a step's title: the outcome's
// summary once done, its status in words otherwise.
func listTail(r steps.StepReport) string {
	if r.Status == steps.StatusDone && r.Outcome != nil && r.Outcome.Summary != "" {
		return r.Outcome.Summary
	}
	return statusWord(r)
}

// stepLine is one line of the step list: mark, number, title and tail.
func stepLine(r steps.StepReport, tail string, st Styles, width int) string {
	head := fmt.Sprintf("%s %d. %s", render.Mark(r.Status), r.N, r.Title)
	line := truncate(head, width)
	if tail != "" && ansi.StringWidth(line)+3+6 <= width {
		line += " — " + cutWords(tail, width-ansi.StringWidth(line)-3)
	}
	if r.Status == steps.StatusRunning {
		return st.Selected.Render(line)
	}
	mark, rest := render.Mark(r.Status), strings.TrimPrefix(line, render.Mark(r.Status))
	return st.Step(r.Status).Render(mark) + rest
}

// stepsReport renders every step: its line, its plan when plans is set,
// its outcome and its error, each indented under it.
func (v outcomeView) stepsReport(reps []steps.StepReport, plans bool) string {
	const indent = "  "
	in := v.narrower(len(indent))
	var blocks []string
	for _, r := range reps {
		tail := statusWord(r)
		switch r.Status {
		case steps.StatusDone:
			tail = ""
		case steps.StatusPending:
			tail = "not run"
		}
		b := []string{stepLine(r, tail, v.st, v.width)}
		if plans && r.Plan != nil {
			b = append(b, indentBlock(renderPlan(r.Plan, "", in.width, v.st), indent))
		}
		if r.Outcome != nil && (r.Status != steps.StatusPlanned || !isNothingDone(r.Outcome)) {
			if o := in.outcome(r.Outcome); o != "" {
				b = append(b, indentBlock(o, indent))
			}
		}
		if r.Error != "" {
			b = append(b, indentBlock(v.st.Bad.Render(hang("✗ ", r.Error, in.width)), indent))
		}
		blocks = append(blocks, strings.Join(b, "\n"))
	}
	sep := "\n\n"
	if !plans {
		sep = "\n"
	}
	return strings.Join(blocks, sep)
}

// isNothingDone reports whether o is the session's stand-in outcome of a
// writing step a dry run only previewed.
func isNothingDone(o *steps.Outcome) bool {
	return o.Summary == "dry run: nothing done" && len(o.Details) == 0 && len(o.Warnings) == 0 && o.Data == nil
}

// indentBlock prefixes every non-empty line of s.
func indentBlock(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
