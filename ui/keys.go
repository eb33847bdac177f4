package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
)

// keyMap holds every binding of the wizard; screens pick the ones they show.
type keyMap struct {
	Up, Down, Enter, Back, Quit, ForceQuit key.Binding
	Toggle, All, Secret, Restart, Refresh  key.Binding
	NextField, PrevField, Force            key.Binding
	ScrollUp, ScrollDown, PageUp, PageDown key.Binding
}

// keys is the wizard's key map.
var keys = keyMap{
	Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	Enter:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "select")),
	Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	ForceQuit:  key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	Toggle:     key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "toggle")),
	All:        key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all")),
	Secret:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "show token")),
	Restart:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "simulate k3s restart")),
	Refresh:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	NextField:  key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next")),
	PrevField:  key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "prev")),
	Force:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "force")),
	ScrollUp:   key.NewBinding(key.WithKeys("up"), key.WithHelp("↑↓", "scroll")),
	ScrollDown: key.NewBinding(key.WithKeys("down")),
	PageUp:     key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", "page")),
	PageDown:   key.NewBinding(key.WithKeys("pgdown")),
}

// with returns b with another help text.
func with(b key.Binding, keyHelp, desc string) key.Binding {
	b.SetHelp(keyHelp, desc)
	return b
}

// bindings is a help.KeyMap made of a flat list.
type bindings []key.Binding

// ShortHelp implements help.KeyMap.
func (b bindings) ShortHelp() []key.Binding { return b }

// FullHelp implements help.KeyMap.
func (b bindings) FullHelp() [][]key.Binding { return [][]key.Binding{b} }

// scrollKeys is a viewport key map of arrows and page keys only, so a
// viewport can share the keyboard with a text input.
func scrollKeys() viewport.KeyMap {
	return viewport.KeyMap{
		Up: keys.ScrollUp, Down: keys.ScrollDown, PageUp: keys.PageUp, PageDown: keys.PageDown,
		HalfPageUp: key.NewBinding(key.WithDisabled()), HalfPageDown: key.NewBinding(key.WithDisabled()),
		Left: key.NewBinding(key.WithDisabled()), Right: key.NewBinding(key.WithDisabled()),
	}
}

// newViewport returns a viewport with scrollKeys.
func newViewport() viewport.Model {
	vp := viewport.New(0, 0)
	vp.KeyMap = scrollKeys()
	return vp
}
