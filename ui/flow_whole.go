package ui

import "strings"

// Whole implements wholer: the step list with every summary whole, the
// panel, the content and the question, all rendered unshortened. A token
// is in it only when the operator has shown it (t).
func (f *flowScreen) Whole() string {
	return atWhole(f.com, func() string {
		var parts []string
		var list []string
		for i := range f.reps {
			list = append(list, f.stepRow(i, f.currentStep(), wholeWidth))
		}
		parts = append(parts, strings.Join(list, "\n"))
		if p := f.panelTop(); p != "" {
			parts = append(parts, p)
		}
		parts = append(parts, f.content())
		if b := f.panelBottom(); b != "" {
			parts = append(parts, b)
		}
		return strings.Join(parts, "\n\n")
	})
}

// tokensOnScreen reports whether the panel holds token lines, so t (show
// token) is offered only then: at the end any step's, at a question those
// of the steps reported since the last question.
func (f *flowScreen) tokensOnScreen() bool {
	switch f.phase {
	case phEnd:
		return hasSecrets(f.reps)
	case phAsk:
		if f.prep != nil && f.lastAsk+1 <= f.prep.Index {
			return hasSecrets(f.reps[f.lastAsk+1 : f.prep.Index])
		}
	}
	return false
}

// keepLines are the lines of a flow's outcomes an operator may need after
// the wizard: backups and their undo commands, CA hashes, what was left
// behind and how to remove it, how to start k3s when it is left stopped.
// Run prints them again, whole, on the normal screen.
func (f *flowScreen) keepLines() []string {
	var out []string
	for _, r := range f.reps {
		if r.Outcome == nil {
			continue
		}
		for _, d := range r.Outcome.Details {
			for _, p := range keepPrefixes {
				if strings.HasPrefix(strings.TrimSpace(d), p) {
					out = append(out, strings.TrimSpace(d))
				}
			}
		}
	}
	for _, l := range f.left {
		out = append(out, "left behind: "+l.Path+" ("+l.What+"); remove it with: "+l.Remove)
	}
	if f.node != nil && !f.dry && !f.node.Active {
		out = append(out, f.node.Line())
	}
	return out
}

// keepPrefixes start the outcome details keepLines keeps.
var keepPrefixes = []string{"backup:", "undo with:", "new CA hash:", "current CA hash:", "backed up", "staged in", "moved"}

// recordKeep adds the flow's keep lines to what Run prints at the exit.
func (f *flowScreen) recordKeep() {
	lines := f.keepLines()
	if len(lines) == 0 {
		return
	}
	title := f.Title() + ":"
	f.com.Keep = appendNew(f.com.Keep, title)
	for _, l := range lines {
		f.com.Keep = appendNew(f.com.Keep, "  "+l)
	}
}
