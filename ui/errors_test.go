package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
)

// running is a service manager whose k3s always runs.
type running struct{}

func (running) IsActive(context.Context, string) (bool, error) { return true, nil }
func (running) Stop(context.Context, string) error             { return nil }
func (running) Start(context.Context, string) error            { return nil }
func (running) Name() string                                   { return "fake" }

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

// refusedReport is a new-root refusal with long lines to wrap.
func refusedReport() *pki.Report {
	rep := &pki.Report{Class: pki.ClassNewRoot, Changed: []string{"ServerCA", "ServerCAKey", "ClientCA", "ClientCAKey", "ServiceKey"}}
	rep.Hash.Old, rep.Hash.New = strings.Repeat("a", 64), strings.Repeat("b", 64)
	for _, f := range []string{"ServerCA", "ClientCA", "RequestHeaderCA", "ETCDServerCA", "ETCDPeerCA"} {
		rep.Errors = append(rep.Errors, f+": new CA cert cannot be verified using old CA chain: x509: certificate signed by unknown authority")
	}
	return rep
}

// fitScreens builds the screens the fit test sizes, each as far as it gets
// without running a step.
var fitScreens = []struct {
	name string
	open func(c *Common) screen
}{
	{"menu", nil},
	{"custom CA import form", func(c *Common) screen { return newCustomCAFlow(c) }},
	{"import form with an error", func(c *Common) screen {
		f := newCustomCAFlow(c)
		f.form.SetValue(fieldRootCert, "/a/very/long/path/to/some/place/where/the/root/certificate/lives/root-ca.pem")
		f.planned(plannedMsg{id: f.id, err: errors.New("generate custom-ca: root certificate: data does not contain any valid RSA or ECDSA certificates (root certificate /a/very/long/path)")})
		return f
	}},
	{"staged dir input", func(c *Common) screen { return newLoadStagedFlow(c) }},
	{"refused new root", func(c *Common) screen {
		f := newCustomCAFlow(c)
		f.done("wrote 15 files to k3sca-custom-ca-1795780800")
		f.validated(validatedMsg{id: f.id, rep: refusedReport()})
		return f
	}},
	{"force confirmation", func(c *Common) screen {
		f := newCustomCAFlow(c)
		f.done("wrote 15 files to k3sca-custom-ca-1795780800")
		f.validated(validatedMsg{id: f.id, rep: refusedReport()})
		f.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("f")})
		return f
	}},
}

func TestViewFitsTheTerminal(t *testing.T) {
	_, cfg := sandbox(t)
	for _, sc := range fitScreens {
		for _, size := range [][2]int{{80, 24}, {60, 16}, {120, 40}} {
			var m tea.Model = New(context.Background(), cfg)
			m, _ = m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			m, _ = m.Update(checkedMsg{id: rootID, err: context.Canceled})
			if sc.open != nil {
				m, _ = m.Update(openMsg{s: sc.open(m.(*model).com)})
			}
			lines := strings.Split(m.View(), "\n")
			if len(lines) != size[1] {
				t.Errorf("%s at %dx%d: %d lines", sc.name, size[0], size[1], len(lines))
			}
			for _, l := range lines {
				if w := lipgloss.Width(l); w > size[0] {
					t.Errorf("%s at %dx%d: line %q is %d wide", sc.name, size[0], size[1], l, w)
				}
			}
		}
	}
}
