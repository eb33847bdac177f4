package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
)

// keyMap holds every binding of the wizard; screens pick the ones they show.
type keyMap struct {
	Up, Down, Enter, Back, Quit, ForceQuit, Help key.Binding
	FlowHelp                                     key.Binding
	DryRun, Reveal, Yes, No, Remove              key.Binding
	Complete, NextField, PrevField, Submit       key.Binding
	Left, Right                                  key.Binding
	ScrollUp, ScrollDown, PageUp, PageDown       key.Binding
}

// keys is the wizard's key map.
var keys = keyMap{
	Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	Enter:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "select")),
	Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	ForceQuit:  key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
	FlowHelp:   key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "help")),
	DryRun:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "dry run on/off")),
	Reveal:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "show token")),
	Remove:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "remove what was left behind")),
	Yes:        key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y enter", "yes")),
	No:         key.NewBinding(key.WithKeys("n", "N"), key.WithHelp("n/enter/esc", "no")),
	Complete:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete/next")),
	NextField:  key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "next field")),
	PrevField:  key.NewBinding(key.WithKeys("up", "shift+tab"), key.WithHelp("↑/shift+tab", "previous field")),
	Submit:     key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "start")),
	Left:       key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "change choice")),
	Right:      key.NewBinding(key.WithKeys("right")),
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

// keyHelp is a help.KeyMap: the short list shown in the footer and the
// longer one `?` shows.
type keyHelp struct {
	short, more []key.Binding
}

// ShortHelp implements help.KeyMap.
func (k keyHelp) ShortHelp() []key.Binding { return k.short }

// FullHelp implements help.KeyMap: the short keys in one column, the
// others in a second.
func (k keyHelp) FullHelp() [][]key.Binding {
	if len(k.more) == 0 {
		return [][]key.Binding{k.short}
	}
	return [][]key.Binding{k.short, k.more}
}

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
