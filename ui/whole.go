package ui

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// wholeWidth is the width a screen renders at for the whole-lines print:
// wide enough that nothing is wrapped or shortened.
const wholeWidth = 4096

// wholer is a screen that can render itself with nothing shortened.
type wholer interface {
	// Whole renders the screen's text unshortened, one logical line per
	// line, for the normal screen.
	Whole() string
}

// wholeKey prints the whole lines: w, or ctrl+o while typing.
var wholeKey = key.NewBinding(key.WithKeys("w", "ctrl+o"), key.WithHelp("w", "whole lines"))

// wholeCmd prints text on the normal screen (the wizard's screen is
// released meanwhile) and waits for enter: there the terminal soft-wraps
// every long line, so a triple-click or `tmux capture-pane -J` copies a
// path, a hash, a command or a token whole.
func wholeCmd(text string) tea.Cmd {
	return tea.Exec(&wholePrint{text: text}, func(error) tea.Msg { return wholeDoneMsg{} })
}

// wholeDoneMsg says the whole-lines print returned to the wizard.
type wholeDoneMsg struct{}

// wholePrint is a tea.ExecCommand that prints text and waits for enter.
type wholePrint struct {
	text    string
	in      io.Reader
	out     io.Writer
	discard io.Writer
}

// Run implements tea.ExecCommand.
func (p *wholePrint) Run() error {
	if p.out == nil {
		return nil
	}
	if _, err := fmt.Fprintf(p.out, "\r\n%s\r\n\r\n── whole lines of the wizard's screen, for copying; enter goes back ──\r\n",
		strings.ReplaceAll(ansi.Strip(p.text), "\n", "\r\n")); err != nil {
		return fmt.Errorf("whole lines: %w", err)
	}
	if p.in != nil {
		_, _ = bufio.NewReader(p.in).ReadString('\n')
	}
	return nil
}

// SetStdin implements tea.ExecCommand.
func (p *wholePrint) SetStdin(r io.Reader) { p.in = r }

// SetStdout implements tea.ExecCommand.
func (p *wholePrint) SetStdout(w io.Writer) { p.out = w }

// SetStderr implements tea.ExecCommand.
func (p *wholePrint) SetStderr(w io.Writer) { p.discard = w }

// whole is the root's whole-lines text: the title, every fact in full
// (the whole CA hash) and the current screen unshortened.
func (m *model) whole() string {
	lines := []string{"k3sca · " + m.cur.Title()}
	if m.facts != nil {
		f := *m.facts
		lines = append(lines, strings.Join(f.wholeParts(m.com.Env.Product.Name()), " · "))
	}
	if w, ok := m.cur.(wholer); ok {
		lines = append(lines, "", w.Whole())
	}
	return strings.Join(lines, "\n")
}

// atWhole renders with the shared size set to wholeWidth and a tall
// body, then puts the size back.
func atWhole(c *Common, render func() string) string {
	w, h := c.Width, c.Height
	c.Width, c.Height = wholeWidth, 1<<16
	defer func() { c.Width, c.Height = w, h }()
	return render()
}
