package ui

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// TestCustomCAFormFlagsEachFieldOnLeave fills the "Bootstrap a custom CA"
// form as the operator did: a wrong path, then a file that is no
// certificate, then an encrypted key. Each is flagged as soon as its field
// is left (not while it is typed, not at a later step), with the engine's
// typed error on screen; esc to the menu and back finds the four values,
// their checks and the menu's cursor as they were; starting is refused
// with the flagged field's error and nothing is written.
func TestCustomCAFormFlagsEachFieldOnLeave(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("data", 0o700); err != nil {
		t.Fatal(err)
	}
	set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now.Add(-time.Hour)}, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Write(context.Background(), "pki", testkit.Now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("notes.txt", []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
	if err := os.WriteFile("enc.key", []byte(enc), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("pki", "ca", "root-ca.pem")
	env := steps.Env{DataDir: "data", Product: product.K3s, Now: testkit.Clock, Services: node.NewFakeServices()}
	specs := steps.Flows()
	at := -1
	for i, sp := range specs {
		if sp.ID == steps.FlowCustomCA {
			at = i
		}
	}
	d := rfStart(t, Config{Env: env, Specs: specs, DataDirSource: "--data-dir flag"}, 80, 24)
	d.wait("the menu", func(st rfState) bool { return st.kind == "menu" && st.facts > 0 })
	d.key(tea.KeyDown, at)
	d.key(tea.KeyEnter, 1)
	d.wait("the form", func(st rfState) bool { return st.kind == "form" })

	// Each entry types into the focused field, then leaves it with ↓.
	for _, tc := range []struct {
		name, field, value string
		up                 int // ↑ presses back to the field first
		want               error
		onScreen           string
	}{
		{"a wrong path", "root-cert", "nope.pem", 0, fs.ErrNotExist, "no such file or"},
		{"a file that is no certificate", "root-cert", "notes.txt", 1, pki.ErrNoCertificates, "does not contain any"},
		{"the root cert mended", "root-cert", root, 1, nil, ""},
		{"an encrypted key", "root-key", "enc.key", 0, pki.ErrEncryptedKey, "private key is encrypted"},
	} {
		d.key(tea.KeyUp, tc.up)
		d.key(tea.KeyCtrlU, 1)
		d.typ(tc.value)
		typed := d.wait(tc.name+" typed", func(st rfState) bool { return st.values[tc.field] == tc.value })
		if err := typed.checked[tc.field]; err != nil || tc.onScreen != "" && strings.Contains(typed.view, tc.onScreen) {
			t.Errorf("%s: flagged while typed (%v):\n%s", tc.name, err, typed.view)
		}
		d.key(tea.KeyDown, 1)
		if tc.want == nil {
			continue // a value that passes leaves no check behind (see below)
		}
		st := d.wait(tc.name+" checked", func(st rfState) bool { _, ok := st.checked[tc.field]; return ok })
		if err := st.checked[tc.field]; !errors.Is(err, tc.want) {
			t.Errorf("%s: the check says %v, want %v", tc.name, err, tc.want)
		}
		var ie *pki.ImportError
		if err := st.checked[tc.field]; err != nil && !errors.As(err, &ie) {
			t.Errorf("%s: %T is not the engine's ImportError", tc.name, err)
		}
		if tc.onScreen != "" {
			d.wait(tc.name+" on screen", func(st rfState) bool { return strings.Contains(st.view, tc.onScreen) })
		}
	}
	filled := d.wait("the filled form", func(st rfState) bool { return st.kind == "form" })
	if err := filled.checked["root-cert"]; err != nil || strings.Contains(filled.view, "does not contain any") {
		t.Errorf("the mended root cert is still flagged: %v\n%s", err, filled.view)
	}

	d.key(tea.KeyEsc, 1)
	d.wait("the menu again", func(st rfState) bool { return st.kind == "menu" })
	d.key(tea.KeyEnter, 1) // the cursor stayed on the flow
	back := d.wait("the form again", func(st rfState) bool { return st.kind == "form" })
	for k, v := range filled.values {
		if back.values[k] != v {
			t.Errorf("after esc %s is %q, was %q", k, back.values[k], v)
		}
	}
	if !errors.Is(back.checked["root-key"], pki.ErrEncryptedKey) || !strings.Contains(back.view, "private key is encrypted") {
		t.Errorf("after esc the key's check is gone: %v\n%s", back.checked["root-key"], back.view)
	}
	d.key(tea.KeyCtrlS, 1)
	refused := d.wait("the start refused", func(st rfState) bool { return st.formErr != "" })
	if refused.kind != "form" || !strings.Contains(refused.formErr, "encrypted") {
		t.Errorf("start with a flagged field: %q on %s", refused.formErr, refused.kind)
	}
	d.quit()
	if entries, _ := os.ReadDir(filepath.Join("data", "server", "tls")); len(entries) > 0 {
		t.Errorf("a refused form wrote %d files to server/tls", len(entries))
	}
}

// TestEscFromAFailedFlowGoesBackToItsForm: the load flow on a staged dir
// that passes the field's check (it holds tls/) but not validation fails
// at that step; esc then opens the form again with the dir typed, not the
// menu with an empty form.
func TestEscFromAFailedFlowGoesBackToItsForm(t *testing.T) {
	_, env, _ := rfSandbox(t)
	if err := os.MkdirAll(filepath.Join("bad", "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("bad", "tls", "server-ca.crt"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	specs := steps.Flows()
	at := -1
	for i, sp := range specs {
		if sp.ID == steps.FlowLoad {
			at = i
		}
	}
	d := rfStart(t, Config{Env: env, Specs: specs, Sandbox: true, DataDirSource: "--data-dir flag"}, 80, 24)
	d.wait("the menu", func(st rfState) bool { return st.kind == "menu" && st.facts > 0 })
	d.key(tea.KeyDown, at)
	d.key(tea.KeyEnter, 1)
	d.wait("the form", func(st rfState) bool { return st.kind == "form" })
	d.typ("bad")
	d.wait("the dir typed", func(st rfState) bool { return st.values["path"] == "bad" })
	d.key(tea.KeyCtrlS, 1)
	end := d.wait("the flow failed", func(st rfState) bool {
		return st.kind == "flow" && st.phase == phEnd && slices.ContainsFunc(st.reps, func(r steps.StepReport) bool { return r.Status == steps.StatusFailed })
	})
	d.key(tea.KeyEsc, 1)
	back := d.wait("the form again", func(st rfState) bool { return st.kind == "form" })
	if back.values["path"] != "bad" {
		t.Errorf("esc after the failure: the form holds %q, want bad; the end was:\n%s", back.values["path"], end.view)
	}
	d.quit()
}
