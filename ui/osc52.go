package ui

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// copyKey sends the shown token to the operator's clipboard (OSC 52).
var copyKey = key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy token"))

// canCopy reports whether the wizard draws on a terminal that may take an
// OSC 52 clipboard write (not TERM=dumb, not in tests).
func (c *Common) canCopy() bool { return c.out != nil && os.Getenv("TERM") != "dumb" }

// copiedMsg says an OSC 52 sequence was sent (err: the write failed).
type copiedMsg struct {
	id   int64
	what string
	err  error
}

// osc52 is the sequence that puts text in the clipboard of the terminal
// the wizard draws on, over SSH too; inside tmux it goes through tmux's
// set-clipboard.
func osc52(text string) string {
	return "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\a"
}

// copyCmd writes the OSC 52 sequence for text to out in one write.
func copyCmd(out io.Writer, id int64, what, text string) tea.Cmd {
	return func() tea.Msg {
		_, err := io.WriteString(out, osc52(text))
		if err != nil {
			err = fmt.Errorf("copy to the clipboard: %w", err)
		}
		return copiedMsg{id: id, what: what, err: err}
	}
}

// shownToken is the token of the outcome lines shown ("new token: K10…"),
// "" when none is.
func (f *flowScreen) shownToken() string {
	if !f.reveal {
		return ""
	}
	for _, r := range f.reps {
		if r.Outcome == nil {
			continue
		}
		for _, l := range r.Outcome.Secret {
			if i := strings.Index(l, "K10"); i >= 0 {
				return strings.TrimSpace(l[i:])
			}
		}
	}
	return ""
}

// copyLine says what was sent to the clipboard, for the end panel.
func (f *flowScreen) copyLine() string {
	switch {
	case f.copied == nil:
		return ""
	case f.copied.err != nil:
		return "✗ " + f.copied.err.Error()
	}
	return "⧉ sent the " + f.copied.what + " to your terminal's clipboard (OSC 52); a terminal that does not allow it ignores it: w shows it whole"
}
