package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// menu is the home screen: the flows with their summaries, a cursor, and
// the dry-run switch.
type menu struct {
	com    *Common
	specs  []steps.FlowSpec
	cursor int
}

func newMenu(c *Common, specs []steps.FlowSpec) *menu {
	return &menu{com: c, specs: specs, cursor: min(c.MenuCursor, max(0, len(specs)-1))}
}

// Init implements screen.
func (m *menu) Init() tea.Cmd { return nil }

// SetSize implements screen; the menu reads the size when it draws.
func (m *menu) SetSize(int, int) {}

// Title implements screen.
func (m *menu) Title() string { return "menu" }

// Typing implements screen.
func (m *menu) Typing() bool { return false }

// Interrupt implements screen: nothing runs, quit.
func (m *menu) Interrupt() tea.Cmd { return msgCmd(quitMsg{}) }

// Help implements screen.
func (m *menu) Help() keyHelp {
	return keyHelp{
		short: []key.Binding{keys.Up, keys.Down, with(keys.Enter, "enter", "open"), keys.DryRun, keys.Quit, keys.Help},
		more:  []key.Binding{keys.ForceQuit},
	}
}

// Update implements screen.
func (m *menu) Update(msg tea.Msg) (screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || len(m.specs) == 0 {
		if ok && key.Matches(k, keys.Quit, keys.Back) {
			return m, msgCmd(quitMsg{})
		}
		return m, nil
	}
	switch {
	case key.Matches(k, keys.Up):
		m.cursor = (m.cursor + len(m.specs) - 1) % len(m.specs)
		m.com.MenuCursor = m.cursor
	case key.Matches(k, keys.Down):
		m.cursor = (m.cursor + 1) % len(m.specs)
		m.com.MenuCursor = m.cursor
	case key.Matches(k, keys.DryRun):
		m.com.DryRun = !m.com.DryRun
	case key.Matches(k, keys.Quit):
		return m, msgCmd(quitMsg{})
	case key.Matches(k, keys.Enter):
		return m, msgCmd(openMsg{s: newForm(m.com, m.specs[m.cursor])})
	}
	return m, nil
}

// View implements screen: two lines a flow (title, summary), scrolled so
// the cursor stays on screen.
func (m *menu) View() string {
	st, w := m.com.Styles, m.com.Width
	mode := "off: steps that write ask first"
	if m.com.DryRun {
		mode = "ON: steps that write are only previewed"
	}
	head := []string{st.Title.Render("What do you want to do?"), st.Dim.Render(truncate("dry run (d) "+mode, w)), ""}
	if len(m.specs) == 0 {
		return strings.Join(append(head, "No flows to offer."), "\n")
	}
	per := 2
	rows := max(1, (m.com.Height-len(head))/per)
	first := max(0, min(m.cursor-rows+1, len(m.specs)-rows))
	var lines []string
	for i := first; i < len(m.specs) && i < first+rows; i++ {
		sp := m.specs[i]
		title := truncate(sp.Title, w-2)
		if i == m.cursor {
			lines = append(lines, st.Selected.Render("> "+title))
		} else {
			lines = append(lines, "  "+title)
		}
		lines = append(lines, st.Dim.Render(truncate("    "+sp.Summary, w)))
	}
	return strings.Join(append(head, lines...), "\n")
}
