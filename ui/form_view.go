package ui

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/steps"
)

// errNoBuild is a spec the menu cannot start.
var errNoBuild = errors.New("this flow cannot be started from the wizard")

// Help implements screen.
func (f *form) Help() keyHelp {
	if f.busy {
		return keyHelp{short: []key.Binding{keys.ForceQuit}}
	}
	if len(f.visible()) == 0 {
		return keyHelp{short: []key.Binding{with(keys.Enter, "enter", "try again"), with(keys.Back, "esc", "menu"), keys.Help}}
	}
	var short []key.Binding
	fd := f.spec.Fields[f.focus]
	switch {
	case isPath(fd.Kind):
		short = append(short, with(keys.Complete, "tab", "complete"))
	case fd.Kind == steps.FieldBackup:
		short = append(short, with(keys.Up, "↑↓", "choose"), with(keys.Complete, "tab", "complete"))
	case fd.Kind == steps.FieldChoice:
		short = append(short, keys.Left)
	}
	start := with(keys.Submit, "ctrl+s", "start")
	if f.last() {
		start = with(keys.Enter, "enter", "start")
	}
	if fd.Kind != steps.FieldBackup {
		short = append(short, with(keys.NextField, "↓", "next"), with(keys.PrevField, "↑", "previous"))
	}
	short = append(short, start, with(keys.Back, "esc", "menu"), keys.Help)
	more := []key.Binding{with(keys.Complete, "tab", "complete a path, next field otherwise"), keys.PrevField,
		with(keys.Submit, "ctrl+s", "start from any field"), with(keys.Enter, "ctrl+w/ctrl+u", "delete a word/to the start"),
		with(wholeKey, "ctrl+o", "whole lines on the normal screen")}
	return keyHelp{short: short, more: more}
}

// labelWidth is the width of the label column.
func (f *form) labelWidth() int {
	w := 0
	for _, fd := range f.spec.Fields {
		w = max(w, lipgloss.Width(fd.Label))
	}
	return min(w, 24)
}

// View implements screen.
func (f *form) View() string {
	st, w := f.com.Styles, f.com.Width
	lines := []string{st.Title.Render(truncate(f.spec.Title, w))}
	if f.spec.Summary != "" {
		lines = append(lines, st.Dim.Render(hang("", f.spec.Summary, w)))
	}
	lines = append(lines, "")
	vis := f.visible()
	focusLine := len(lines)
	for _, i := range vis {
		if i == f.focus {
			focusLine = len(lines)
		}
		lines = append(lines, f.fieldLines(i)...)
	}
	var tail []string
	switch {
	case f.busy:
		tail = append(tail, f.spin.View()+" starting the flow…")
	case len(vis) > 0:
		what := "starts the flow; every step that writes asks first."
		if f.com.DryRun {
			what = "starts a dry run: nothing is written."
		}
		tail = append(tail, st.Dim.Render(hang("", "Enter on the last field or ctrl+s "+what, w)))
	}
	if c := f.candidates(); c != "" {
		tail = append(tail, c)
	}
	if f.note != "" {
		tail = append(tail, st.Warn.Render(hang("! ", f.note, w)))
	}
	if f.err != nil {
		tail = append(tail, renderError(f.err, w, st))
	}
	if len(tail) > 0 {
		lines = append(lines, "")
		lines = append(lines, strings.Split(strings.Join(tail, "\n"), "\n")...)
	}
	return fitAround(lines, focusLine, f.com.Height)
}

// fieldLines renders field i: label and value, and under the focused one
// its help.
func (f *form) fieldLines(i int) []string {
	st, lw := f.com.Styles, f.labelWidth()
	fd := f.spec.Fields[i]
	focused := i == f.focus
	label := pad(fd.Label, lw)
	var val string
	switch {
	case fd.Kind == steps.FieldChoice:
		val = f.choiceView(fd)
	default:
		val = f.inputs[i].View()
	}
	line := "  " + label + "  " + val
	if focused {
		line = st.Selected.Render("▸ "+label) + "  " + val
	}
	out := []string{line}
	if err := f.checked[fd.Key]; err != nil {
		out = append(out, st.Bad.Render(hang(strings.Repeat(" ", lw+4)+"✗ ", err.Error(), f.com.Width)))
	}
	if focused {
		if h := fieldHelp(fd); h != "" {
			out = append(out, st.Dim.Render(hang(strings.Repeat(" ", lw+4), h, f.com.Width)))
		}
	}
	if fd.Kind == steps.FieldBackup {
		out = append(out, f.backupLines()...)
	}
	return out
}

// Whole implements wholer: each field's value whole (its input scrolls a
// value wider than the screen), its check, the backups listed, and the
// form's error, for ctrl+o.
func (f *form) Whole() string {
	return atWhole(f.com, func() string {
		st, lw := f.com.Styles, f.labelWidth()
		lines := []string{f.spec.Title}
		for _, i := range f.visible() {
			fd := f.spec.Fields[i]
			lines = append(lines, "  "+pad(fd.Label, lw)+"  "+f.inputs[i].Value())
			if fd.Kind == steps.FieldChoice {
				lines[len(lines)-1] = "  " + pad(fd.Label, lw) + "  " + f.values[fd.Key]
			}
			if err := f.checked[fd.Key]; err != nil {
				lines = append(lines, strings.Repeat(" ", lw+4)+"✗ "+err.Error())
			}
			if fd.Kind == steps.FieldBackup {
				lines = append(lines, f.backupLines()...)
			}
		}
		if f.err != nil {
			lines = append(lines, "", renderError(f.err, wholeWidth, st))
		}
		return strings.Join(lines, "\n")
	})
}

// choiceView shows every choice with the chosen one in brackets, or only
// the chosen one when they do not fit.
func (f *form) choiceView(fd steps.Field) string {
	cur := f.values[fd.Key]
	parts := make([]string, len(fd.Choices))
	for i, c := range fd.Choices {
		if c == cur {
			parts[i] = "[" + c + "]"
		} else {
			parts[i] = " " + c + " "
		}
	}
	all := strings.Join(parts, " ")
	if lipgloss.Width(all) <= f.com.Width-f.labelWidth()-6 {
		return all
	}
	return "‹ " + cur + " ›"
}

// fieldHelp is the line under a focused field: its help and how to enter it.
func fieldHelp(fd steps.Field) string {
	var parts []string
	if fd.Help != "" {
		parts = append(parts, fd.Help)
	}
	switch fd.Kind {
	case steps.FieldPath, steps.FieldDir:
		parts = append(parts, "tab completes")
	case steps.FieldBackup:
		parts = append(parts, "↑↓ chooses, tab completes from them")
	case steps.FieldChoice:
		parts = append(parts, "←/→ changes")
	case steps.FieldList:
		hint := "comma-separated; empty: all"
		if len(fd.Choices) > 0 {
			hint += "; known: " + strings.Join(fd.Choices, ", ")
		}
		parts = append(parts, hint)
	}
	if fd.Optional {
		parts = append(parts, "optional")
	}
	return strings.Join(parts, " · ")
}

// candidates lists the completions, by base name, in as many columns as fit.
func (f *form) candidates() string {
	if len(f.cands) == 0 {
		return ""
	}
	w := f.com.Width
	names := make([]string, len(f.cands))
	cell := 0
	for i, c := range f.cands {
		n := filepath.Base(strings.TrimSuffix(c, "/"))
		if strings.HasSuffix(c, "/") {
			n += "/"
		}
		names[i] = n
		cell = max(cell, lipgloss.Width(n)+2)
	}
	cell = min(cell, w)
	cols := max(1, w/cell)
	const maxRows = 4
	var lines []string
	for r := 0; r*cols < len(names) && r < maxRows; r++ {
		var b strings.Builder
		for c := 0; c < cols && r*cols+c < len(names); c++ {
			b.WriteString(pad(names[r*cols+c], cell))
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	if shown := maxRows * cols; len(names) > shown {
		lines[len(lines)-1] = truncate(lines[len(lines)-1], w-20) + f.com.Styles.Dim.Render("  … and "+strconv.Itoa(len(names)-shown)+" more")
	}
	return f.com.Styles.Title.Render(strconv.Itoa(len(names))+" matches:") + "\n" + strings.Join(lines, "\n")
}

// fitAround keeps line at (and the two lines under it) on screen when
// lines are more than h, dropping lines from the top.
func fitAround(lines []string, at, h int) string {
	if first := at + 3 - h; first > 0 && len(lines) > h {
		lines = lines[min(first, len(lines)-1):]
	}
	return strings.Join(lines, "\n")
}
