package ui

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// running is a service manager whose k3s always runs.
type running struct{}

func (running) IsActive(context.Context, string) (bool, error) { return true, nil }

func TestK3sRunningLandsOnTheErrorPanel(t *testing.T) {
	_, cfg := sandbox(t)
	cfg.Services = running{}
	s := start(t, cfg)
	toValidation(s)
	s.waitFor("Stop k3s on this server")
	s.key(tea.KeyEsc, 1)
	s.waitFor("What do you want to do?")
	if v := s.finalView(); !strings.Contains(v, "> Check certificates") {
		t.Fatalf("esc did not return to the menu:\n%s", v)
	}
}

func TestStagingDirErrorStaysOnTheInput(t *testing.T) {
	_, cfg := sandbox(t)
	s := start(t, cfg)
	openMenuItem(s, 1)
	s.waitFor("staging dir> ")
	s.key(tea.KeyCtrlU, 1)
	s.typ("data/server/tls/x")
	s.key(tea.KeyEnter, 1)
	s.waitFor("✗ ")
	v := s.finalView()
	if !strings.Contains(v, "staging dir> data/server/tls/x") {
		t.Fatalf("the input was lost after the error:\n%s", v)
	}
}

func TestViewFitsTheTerminal(t *testing.T) {
	_, cfg := sandbox(t)
	for _, size := range [][2]int{{80, 24}, {60, 16}, {120, 40}} {
		var m tea.Model = New(context.Background(), cfg)
		m, _ = m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m, _ = m.Update(checkedMsg{id: rootID, err: context.Canceled})
		lines := strings.Split(m.View(), "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for _, l := range lines {
			if w := lipgloss.Width(l); w > size[0] {
				t.Errorf("%dx%d: line %q is %d wide", size[0], size[1], l, w)
			}
		}
	}
}
