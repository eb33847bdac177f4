package ui

import (
	"path/filepath"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// checkScreen shows the inventory of steps.Check in a scrollable viewport.
type checkScreen struct {
	com  *Common
	id   int64
	busy bool
	inv  *pki.Inventory
	spin spinner.Model
	vp   viewport.Model
}

func newCheck(c *Common) *checkScreen {
	return &checkScreen{com: c, id: nextID(), busy: true, spin: spinner.New(), vp: newViewport()}
}

// Init implements screen: it runs the check.
func (s *checkScreen) Init() tea.Cmd { return tea.Batch(s.spin.Tick, checkCmd(s.com, s.id)) }

// Leave implements screen.
func (s *checkScreen) Leave() tea.Cmd { return nil }

// SetSize implements screen.
func (s *checkScreen) SetSize(w, h int) {
	s.vp.Width, s.vp.Height = w, h
	s.render()
}

func (s *checkScreen) render() {
	if s.inv == nil {
		return
	}
	tls := filepath.Join(product.ServerDir(s.com.Cfg.DataDir), pki.TLSDir)
	s.vp.SetContent(renderInventory(s.inv, tls, s.vp.Width, s.com.Styles))
}

// Help implements screen.
func (s *checkScreen) Help() help.KeyMap {
	return bindings{keys.ScrollUp, keys.PageUp, keys.Refresh, keys.Back, keys.Quit}
}

// Update implements screen.
func (s *checkScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case checkedMsg:
		if msg.id != s.id {
			return s, nil
		}
		if msg.err != nil {
			return s, fail("Check certificates", msg.err)
		}
		s.busy, s.inv = false, msg.inv
		s.render()
		return s, nil
	case spinner.TickMsg:
		if !s.busy {
			return s, nil
		}
		var cmd tea.Cmd
		s.spin, cmd = s.spin.Update(msg)
		return s, cmd
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, keys.Back):
			return s, goHome()
		case key.Matches(msg, keys.Quit):
			return s, msgCmd(quitMsg{})
		case key.Matches(msg, keys.Refresh) && !s.busy:
			s.busy = true
			return s, tea.Batch(s.spin.Tick, checkCmd(s.com, s.id))
		}
	}
	var cmd tea.Cmd
	s.vp, cmd = s.vp.Update(msg)
	return s, cmd
}

// View implements screen.
func (s *checkScreen) View() string {
	if s.inv == nil {
		return s.spin.View() + " Reading the certificates…"
	}
	return s.vp.View()
}
