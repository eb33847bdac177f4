package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// menuItem is one entry of the home menu; open builds its screen (nil quits).
type menuItem struct {
	label string
	open  func(*Common) screen
}

// menuItems is the home menu.
var menuItems = []menuItem{
	{"Check certificates", func(c *Common) screen { return newCheck(c) }},
	{"Rotate the self-signed CAs (cross-signed, no --force)", func(c *Common) screen { return newCAFlow(c, steps.GenRotation) }},
	{"Rotate the service-account signing key", func(c *Common) screen { return newCAFlow(c, steps.GenServiceKey) }},
	{"Rotate leaf certificates", func(c *Common) screen { return newLeafFlow(c) }},
	{"Load a staged dir into the datastore", func(c *Common) screen { return newLoadStagedFlow(c) }},
	{"Custom CA (import a root and/or intermediate)", func(c *Common) screen { return newCustomCAFlow(c) }},
	{"Quit", nil},
}

// menu is the home screen: a cursor list of the flows.
type menu struct {
	com    *Common
	cursor int
}

func newMenu(c *Common) *menu { return &menu{com: c} }

// Init implements screen.
func (m *menu) Init() tea.Cmd { return nil }

// SetSize implements screen; the menu needs no size of its own.
func (m *menu) SetSize(int, int) {}

// Leave implements screen.
func (m *menu) Leave() tea.Cmd { return nil }

// Help implements screen.
func (m *menu) Help() help.KeyMap {
	return bindings{keys.Up, keys.Down, keys.Enter, keys.Quit}
}

// Update implements screen.
func (m *menu) Update(msg tea.Msg) (screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, keys.Up):
		m.cursor = (m.cursor + len(menuItems) - 1) % len(menuItems)
	case key.Matches(k, keys.Down):
		m.cursor = (m.cursor + 1) % len(menuItems)
	case key.Matches(k, keys.Quit, keys.Back):
		return m, msgCmd(quitMsg{})
	case key.Matches(k, keys.Enter):
		it := menuItems[m.cursor]
		if it.open == nil {
			return m, msgCmd(quitMsg{})
		}
		return m, msgCmd(openMsg{s: it.open(m.com)})
	}
	return m, nil
}

// View implements screen.
func (m *menu) View() string {
	st := m.com.Styles
	var b strings.Builder
	b.WriteString("\n" + st.Title.Render("What do you want to do?") + "\n\n")
	for i, it := range menuItems {
		label := it.label
		if m.com.Width > 2 {
			label = truncate(label, m.com.Width-2)
		}
		if i == m.cursor {
			b.WriteString(st.Selected.Render("> "+label) + "\n")
		} else {
			b.WriteString("  " + label + "\n")
		}
	}
	return b.String()
}
