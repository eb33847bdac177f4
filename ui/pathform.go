package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// pathForm is a column of labelled one-line path fields with one focused:
// tab or down moves to the next field, shift+tab or up to the previous one,
// enter moves on and, on the last field, submits.
type pathForm struct {
	labels []string
	fields []lineInput
	focus  int
	width  int
}

// newPathForm returns a form with one empty field per label.
func newPathForm(labels ...string) *pathForm {
	w := 0
	for _, l := range labels {
		w = max(w, len([]rune(l)))
	}
	f := &pathForm{labels: labels}
	for _, l := range labels {
		f.fields = append(f.fields, lineInput{Prompt: l + strings.Repeat(" ", w-len([]rune(l))) + " > "})
	}
	return f
}

// Value is the trimmed text of field i.
func (f *pathForm) Value(i int) string { return strings.TrimSpace(f.fields[i].Value()) }

// SetValue replaces the text of field i.
func (f *pathForm) SetValue(i int, s string) { f.fields[i].SetValue(s) }

// SetWidth sizes every field.
func (f *pathForm) SetWidth(w int) {
	f.width = w
	for i := range f.fields {
		f.fields[i].Width = max(0, w-2)
	}
}

// Update handles a key and reports whether it submits the form.
func (f *pathForm) Update(k tea.KeyMsg) (submit bool) {
	switch {
	case key.Matches(k, keys.NextField):
		f.focus = (f.focus + 1) % len(f.fields)
	case key.Matches(k, keys.PrevField):
		f.focus = (f.focus + len(f.fields) - 1) % len(f.fields)
	case key.Matches(k, keys.Enter):
		if f.focus == len(f.fields)-1 {
			return true
		}
		f.focus++
	default:
		f.fields[f.focus].Update(k)
	}
	return false
}

// Focus moves the focus to field i.
func (f *pathForm) Focus(i int) { f.focus = max(0, min(i, len(f.fields)-1)) }

// Last reports whether the focus is on the last field.
func (f *pathForm) Last() bool { return f.focus == len(f.fields)-1 }

// View renders the fields, the focused one marked and with the cursor.
func (f *pathForm) View(st Styles) string {
	lines := make([]string, len(f.fields))
	for i := range f.fields {
		if i == f.focus {
			lines[i] = st.Selected.Render("▸ ") + f.fields[i].View()
		} else {
			lines[i] = "  " + f.fields[i].ViewBlurred()
		}
	}
	return strings.Join(lines, "\n")
}
