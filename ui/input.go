package ui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// lineInput is a one-line text field with the cursor at the end: typed
// runes append, backspace deletes one, ctrl+w deletes back to the previous
// "/" or space, ctrl+u clears. It is the typed-word confirmation's input;
// the forms use bubbles/textinput (cursor moves, paste).
type lineInput struct {
	// Prompt precedes the value.
	Prompt string
	// Width is the display width of prompt, value and cursor (0: unlimited).
	Width int
	value []rune
}

// cursorMark marks the end of the value.
const cursorMark = "█"

// SetValue replaces the value.
func (in *lineInput) SetValue(s string) { in.value = []rune(s) }

// Value is the typed text.
func (in *lineInput) Value() string { return string(in.value) }

// Update applies a key; other messages are ignored.
func (in *lineInput) Update(msg tea.Msg) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return
	}
	switch k.Type {
	case tea.KeyRunes:
		if !k.Paste {
			in.value = append(in.value, k.Runes...)
			return
		}
		in.value = append(in.value, []rune(strings.TrimRight(string(k.Runes), "\r\n"))...)
	case tea.KeySpace:
		in.value = append(in.value, ' ')
	case tea.KeyBackspace:
		if len(in.value) > 0 {
			in.value = in.value[:len(in.value)-1]
		}
	case tea.KeyCtrlW:
		in.value = deleteWord(in.value)
	case tea.KeyCtrlU:
		in.value = nil
	}
}

// deleteWord removes trailing separators, then back to the previous one.
func deleteWord(v []rune) []rune {
	isSep := func(r rune) bool { return r == '/' || r == ' ' }
	i := len(v)
	for i > 0 && isSep(v[i-1]) {
		i--
	}
	for i > 0 && !isSep(v[i-1]) {
		i--
	}
	return v[:i]
}

// View renders prompt, value and cursor, keeping the end of a value that
// does not fit (the cut marked "~").
func (in *lineInput) View() string { return in.render(cursorMark) }

// ViewBlurred renders prompt and value without the cursor, for a field that
// does not have the focus.
func (in *lineInput) ViewBlurred() string { return in.render(" ") }

func (in *lineInput) render(cursor string) string {
	v := string(in.value)
	room := in.Width - len([]rune(in.Prompt)) - 1
	if in.Width > 0 && len(in.value) > room && room > 1 {
		v = ellipsis + string(in.value[len(in.value)-room+1:])
	}
	return in.Prompt + v + cursor
}
