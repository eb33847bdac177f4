package ui

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// TestFormChecksOnLeaveAndRemembers fills the real rotate-custom-ca form
// on a sandbox: a wrong path, then a file that is no certificate, each
// flagged as soon as the field is left with the engine's typed error; esc
// to the menu and back keeps the values, the error and the menu cursor;
// starting with the error on screen is refused before anything runs.
func TestFormChecksOnLeaveAndRemembers(t *testing.T) {
	_, env := uiSandbox(t)
	if err := os.WriteFile("notes.txt", []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	specs := steps.Flows()
	at := -1
	for i, sp := range specs {
		if sp.ID == steps.FlowRotateCustomCA {
			at = i
		}
	}
	s := startWith(t, newModel(context.Background(), Config{Env: env, Specs: specs, Sandbox: true}, deps{}), 80, 24)
	openItem(s, at)
	s.waitFor("▸ root of trust")
	s.key(tea.KeyDown, 1)
	s.typ("nope.pem")
	s.key(tea.KeyDown, 1) // leave the field: it is checked now
	s.waitFor("no such file or")
	s.key(tea.KeyUp, 1)
	s.key(tea.KeyCtrlU, 1)
	s.typ("notes.txt")
	s.key(tea.KeyDown, 1)
	s.waitFor("does not contain any")

	s.key(tea.KeyEsc, 1)
	s.waitFor("What do you want to do?")
	s.key(tea.KeyEnter, 1) // the cursor stayed on the flow
	s.waitFor("notes.txt")
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("✗ error")
	view := s.finalView()
	f, ok := s.finalModel().(*model).cur.(*form)
	if !ok {
		t.Fatalf("not on the form:\n%s", view)
	}
	if f.spec.ID != steps.FlowRotateCustomCA || f.values["root-cert"] != "notes.txt" {
		t.Errorf("the form forgot its values: %s %v", f.spec.ID, f.values)
	}
	var ie *pki.ImportError
	if err := f.checked["root-cert"]; !errors.As(err, &ie) || ie.Input != pki.InputRootCert || !errors.Is(err, pki.ErrNoCertificates) {
		t.Errorf("root cert check: %#v, want an ImportError about the root certificate wrapping ErrNoCertificates", err)
	}
	if !errors.Is(f.err, pki.ErrNoCertificates) {
		t.Errorf("start with a flagged field: %v, want it refused with the field's error", f.err)
	}
	if strings.Contains(view, "no such file") || !strings.Contains(view, "does not contain any") {
		t.Errorf("the screen shows a stale check:\n%s", view)
	}
	if _, err := os.Stat("k3sca-custom-ca-1795780800"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused form staged something: %v", err)
	}
}

// TestEscFromADeclinedFlowGoesBackToItsForm: after No at a question, esc
// opens the flow's form again with the values it ran with.
func TestEscFromADeclinedFlowGoesBackToItsForm(t *testing.T) {
	s := start(t, testConfig(&probe{}), 80, 24)
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.typ("-x")
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("Run it? [y/N]")
	s.key(tea.KeyEnter, 1)
	s.waitFor("not confirmed")
	s.key(tea.KeyEsc, 1)
	s.waitFor("▸ Staging dir")
	s.finalView()
	f, ok := s.finalModel().(*model).cur.(*form)
	if !ok || f.values["stage"] != "k3sca-rotation-1795780800-x" {
		t.Fatalf("esc did not come back to the filled form: %#v", s.finalModel().(*model).cur)
	}
}
