package ui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
)

// confirmInput guards a destructive action: the operator types the exact
// word shown before enter does anything.
type confirmInput struct {
	word, action string
	// no says what esc does ("answers No").
	no    string
	ti    lineInput
	tried bool
}

// newConfirm returns a focused confirmation for word; action says what
// enter will do ("write the datastore"), no what esc does.
func newConfirm(word, action, no string) confirmInput {
	return confirmInput{word: word, action: action, no: no, ti: lineInput{Prompt: "> "}}
}

// Confirmed reports whether the exact word was typed.
func (c *confirmInput) Confirmed() bool { return c.ti.Value() == c.word }

// Submit records an enter press and reports whether it confirms.
func (c *confirmInput) Submit() bool {
	c.tried = true
	return c.Confirmed()
}

// Update passes a message to the text input.
func (c *confirmInput) Update(msg tea.Msg) { c.ti.Update(msg) }

// SetWidth sizes the input.
func (c *confirmInput) SetWidth(w int) { c.ti.Width = max(4, w-4) }

// View renders the prompt, the input and the hint.
func (c *confirmInput) View(st Styles) string {
	return confirmPrompt(c.word, c.action, c.no) + "\n" + c.ti.View() + "\n" + st.Warn.Render(confirmHint(c.word, c.ti.Value(), c.tried))
}

// confirmPrompt asks for the word; no says what esc does.
func confirmPrompt(word, action, no string) string {
	return fmt.Sprintf("Type %q and press enter to %s; esc %s.", word, action, no)
}

// confirmHint is the line under the input: empty while the typed text can
// still become word, a reminder once it cannot or after a refused enter.
func confirmHint(word, typed string, tried bool) string {
	switch {
	case typed == word:
		return ""
	case tried || len(typed) >= len(word) || word[:min(len(typed), len(word))] != typed:
		return fmt.Sprintf("nothing happens until you type exactly %q", word)
	}
	return ""
}
