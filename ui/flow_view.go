package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/internal/words"
	"github.com/k3sca/k3sca/steps"
)

// refresh lays the panel out again and refills the viewport.
func (f *flowScreen) refresh() {
	f.vp.Width = f.com.Width
	used := 0
	if f.phase != phEnd {
		used += lipgloss.Height(f.stepList()) + 1
	}
	if p := f.panelTop(); p != "" {
		used += lipgloss.Height(p) + 1
	}
	if b := f.panelBottom(); b != "" {
		used += lipgloss.Height(b) + 1
	}
	f.vp.Height = max(3, f.com.Height-used)
	f.vp.SetContent(f.content())
}

// stepList is the list of steps with their marks, the current step
// marked ▸; it shows a window around the current step when long.
func (f *flowScreen) stepList() string {
	rows := min(len(f.reps), max(4, f.com.Height-14))
	cur := f.currentStep()
	first := max(0, min(cur-rows/2, len(f.reps)-rows))
	lines := make([]string, 0, rows)
	for i := first; i < first+rows && i < len(f.reps); i++ {
		lines = append(lines, f.stepRow(i, cur, f.com.Width))
	}
	if first > 0 {
		lines[0] = f.com.Styles.Dim.Render("  … " + words.Plural(first+1, "step") + " above")
	}
	if n := len(f.reps) - first - rows; n > 0 {
		lines[len(lines)-1] = f.com.Styles.Dim.Render("  … " + words.Plural(n+1, "step") + " below")
	}
	return strings.Join(lines, "\n")
}

// stepRow is step i's line of the list at width w; cur is the current
// step, marked as running with what it is doing.
func (f *flowScreen) stepRow(i, cur, w int) string {
	r := f.reps[i]
	tail := listTail(r)
	if i == cur && !f.done && r.Status == steps.StatusPending {
		r.Status = steps.StatusRunning
		tail = f.currentWord()
	}
	return stepLine(r, tail, f.com.Styles, w)
}

// currentStep is the step the list marks current.
func (f *flowScreen) currentStep() int {
	if f.prep != nil && !f.done {
		return f.prep.Index
	}
	return f.cur
}

// currentWord says what the current step is doing.
func (f *flowScreen) currentWord() string {
	switch f.phase {
	case phAsk:
		return "waiting for your answer"
	case phRunning:
		return "running"
	}
	return "preparing"
}

// panelTop is what sits above the viewport: the spinner while a call runs,
// the way the flow ended at the end.
func (f *flowScreen) panelTop() string {
	st := f.com.Styles
	var lines []string
	n, total := f.current()+1, len(f.reps)
	switch f.phase {
	case phPreparing:
		lines = append(lines, fmt.Sprintf("%s preparing step %d/%d…", f.spin.View(), n, total))
	case phRunning:
		lines = append(lines, fmt.Sprintf("%s running step %d/%d: %s", f.spin.View(), n, total, f.reps[f.current()].Title))
		if f.progress != "" {
			// The news, then the step's live view (the rollout's nodes).
			news, view, _ := strings.Cut(f.progress, "\n")
			lines = append(lines, st.Dim.Render(truncate("  … "+news, f.com.Width)))
			if view != "" {
				for _, l := range strings.Split(view, "\n") {
					lines = append(lines, truncate("    "+l, f.com.Width))
				}
			}
		}
	case phClosing:
		lines = append(lines, f.spin.View()+" stopping…")
	case phEnd:
		lines = append(lines, f.ending())
	}
	if f.quitting && f.phase != phEnd {
		lines = append(lines, st.Warn.Render(hang("", "ctrl+c: finishing the current step… the wizard quits when it returns.", f.com.Width)))
	}
	return strings.Join(lines, "\n")
}

// current is the index of the step the panel is about.
func (f *flowScreen) current() int {
	if f.prep != nil {
		return min(f.prep.Index, len(f.reps)-1)
	}
	return min(f.cur, len(f.reps)-1)
}

// ending says how the flow ended, in words and marks.
func (f *flowScreen) ending() string {
	st, w := f.com.Styles, f.com.Width
	var lines []string
	switch {
	case f.failure() != nil:
		lines = append(lines, st.Bad.Render(hang("✗ ", "failed: "+stepOf(f.err)+"; details below.", w)))
	case f.declined():
		r := f.reps[f.current()]
		lines = append(lines, st.Bad.Render(hang("✗ ", fmt.Sprintf("not confirmed: stopped before step %d (%s); nothing from this step on was done.", r.N, r.Title), w)))
	case f.dry:
		lines = append(lines, st.Warn.Render("○ dry run: nothing was written.")+" The full plan is below.")
	default:
		lines = append(lines, st.Done.Render("✓ done: ")+countSteps(f.reps))
	}
	if !f.dry {
		for _, r := range f.reps {
			if r.Status == steps.StatusPlanned {
				lines = append(lines, st.Warn.Render(hang("○ ", fmt.Sprintf("step %d (%s) stayed a dry run (not confirmed): nothing of it was done; what it would do is below.", r.N, r.Title), w)))
			}
		}
	}
	if len(f.undo) > 0 {
		lines = append(lines, st.Warn.Render(hang("↺ ", "rolled back: undid "+strings.Join(f.undo, ", "), w)))
	}
	for _, l := range f.left {
		lines = append(lines, st.Warn.Render(hang("! ", fmt.Sprintf("left behind: %s (%s); x removes it (%s)", l.Path, l.What, l.Remove), w)))
	}
	for _, p := range f.removed {
		lines = append(lines, st.Done.Render(hang("✓ ", "removed "+p, w)))
	}
	if c := f.copyLine(); c != "" {
		lines = append(lines, st.Done.Render(hang("", c, w)))
	}
	if f.removeErr != nil {
		lines = append(lines, st.Bad.Render(hang("✗ ", f.removeErr.Error(), w)))
	}
	if f.node != nil && !f.dry && (f.failure() != nil || f.declined() || len(f.undo) > 0 || !f.node.Active) {
		style := st.Done
		if !f.node.Active {
			style = st.Warn
		}
		lines = append(lines, style.Render(hang("  ", f.node.Line(), w)))
	}
	return strings.Join(lines, "\n")
}

// stepOf names the step an error is about.
func stepOf(err error) string {
	if se, ok := err.(*steps.StepError); ok {
		return fmt.Sprintf("step %d (%s)", se.Step, se.Title)
	}
	return "the flow"
}

// countSteps is "3 done, 1 skipped".
func countSteps(reps []steps.StepReport) string {
	var parts []string
	for _, s := range []steps.Status{steps.StatusDone, steps.StatusSkipped, steps.StatusPlanned} {
		n := 0
		for _, r := range reps {
			if r.Status == s {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// panelBottom is the question under the viewport.
func (f *flowScreen) panelBottom() string {
	if f.phase != phAsk {
		return ""
	}
	st, w := f.com.Styles, f.com.Width
	r := f.reps[f.prep.Index]
	head := st.Title.Render(hang("", fmt.Sprintf("Step %d/%d writes: %s", r.N, len(f.reps), r.Title), w))
	if f.prep.Word != "" {
		return head + "\n" + f.word.View(st)
	}
	ans := ""
	if f.yes {
		ans = "y"
	}
	q, them := "Run it?", "it"
	if len(f.prep.Ahead) > 0 {
		q, them = "Run "+f.runs()+"?", "them"
	}
	return head + "\n" + q + " [y/N] " + ans + cursorMark + "\n" +
		st.Dim.Render(truncate("y then enter runs "+them+"; enter alone, n or esc "+f.noAnswer()+".", w))
}

// content is what the viewport holds: at a question the warnings so far,
// the step's preview and what the steps since the last question did; at
// the end the error and every step's outcome (and plan, in a dry run).
func (f *flowScreen) content() string {
	v := newOutcomeView(f.com, f.reveal)
	switch f.phase {
	case phAsk:
		return f.askContent(v)
	case phEnd:
		var parts []string
		if err := f.failure(); err != nil {
			parts = append(parts, renderError(err, f.com.Width, f.com.Styles))
		}
		parts = append(parts, v.stepsReport(f.reps, f.dry))
		return strings.Join(parts, "\n\n")
	}
	return v.stepsReport(f.reps[:f.current()], false)
}

func (f *flowScreen) askContent(v outcomeView) string {
	st, w := f.com.Styles, f.com.Width
	var parts []string
	var warns []string
	for _, x := range f.warns {
		warns = append(warns, st.Warn.Render(hang("! ", "k3s version: "+x, w)))
	}
	for _, r := range f.reps[:f.prep.Index] {
		if r.Outcome != nil {
			for _, x := range r.Outcome.Warnings {
				warns = append(warns, st.Warn.Render(hang("! ", fmt.Sprintf("step %d: %s", r.N, x), w)))
			}
		}
	}
	if len(warns) > 0 {
		parts = append(parts, strings.Join(warns, "\n"))
	}
	if len(f.prep.Ahead) > 0 {
		parts = append(parts, f.aheadSummary())
	}
	if f.prep.Plan != nil {
		parts = append(parts, renderPlan(f.prep.Plan, "", w, st))
	} else {
		parts = append(parts, st.Dim.Render("(this step has no preview)"))
	}
	if len(f.prep.Ahead) > 0 {
		parts = append(parts, f.aheadPlans())
	}
	if since := f.reps[f.lastAsk+1 : f.prep.Index]; len(since) > 0 {
		parts = append(parts, st.Title.Render("Before this step")+"\n"+v.stepsReport(since, false))
	}
	return strings.Join(parts, "\n\n")
}

// aheadSummary says, first, that the answer at a disruptive step also
// runs the writing steps after it, and names them.
func (f *flowScreen) aheadSummary() string {
	st, w := f.com.Styles, f.com.Width
	lines := []string{st.Warn.Render(hang("! ", fmt.Sprintf("This answer runs %s: no later question can leave k3s stopped; a failure or ctrl+c starts it again. Their plans are below.", f.runs()), w))}
	for _, a := range f.prep.Ahead {
		lines = append(lines, hang("  then ", fmt.Sprintf("%d. %s", a.N, a.Title), w))
	}
	return strings.Join(lines, "\n")
}

// aheadPlans are the previews of the steps a disruptive step's answer
// also runs: the operator sees everything up to the last write before k3s
// is stopped.
func (f *flowScreen) aheadPlans() string {
	st, w := f.com.Styles, f.com.Width
	var lines []string
	for _, a := range f.prep.Ahead {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, st.Title.Render(hang("", fmt.Sprintf("Step %d: %s", a.N, a.Title), w)))
		switch {
		case a.Plan != nil:
			lines = append(lines, renderPlan(a.Plan, "", w, st))
		case a.PlanError != "":
			lines = append(lines, st.Dim.Render(hang("  ", "previewed when it is reached: "+a.PlanError, w)))
		default:
			lines = append(lines, st.Dim.Render("  (previewed when it is reached)"))
		}
	}
	return strings.Join(lines, "\n")
}

// View implements screen.
func (f *flowScreen) View() string {
	var parts []string
	if f.phase != phEnd {
		parts = append(parts, f.stepList(), "")
	}
	if p := f.panelTop(); p != "" {
		parts = append(parts, p, "")
	}
	parts = append(parts, f.vp.View())
	if b := f.panelBottom(); b != "" {
		parts = append(parts, "", b)
	}
	return strings.Join(parts, "\n")
}
