package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// showDatastore reads the datastore the way `k3sca datastore show` does.
func showDatastore(t *testing.T, cfg Config) *steps.DatastoreReport {
	t.Helper()
	rep, err := steps.ShowDatastore(context.Background(),
		steps.AccessInput{DataDir: cfg.DataDir, Via: steps.ViaSQLite, Product: cfg.Product, Services: stopped{}}, "")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func fieldSHA(rep *steps.DatastoreReport, field string) string {
	for _, f := range rep.Fields {
		if f.Field == field {
			return f.SHA256
		}
	}
	return ""
}

// toValidation drives the CA rotation from the menu through the staged
// write to the validation report, then asks for the load preview.
func toValidation(s *session) {
	toPlan(s, 1, "rotation")
	s.key(tea.KeyEnter, 1)
	s.waitFor("class    cross-signed")
	s.key(tea.KeyEnter, 1)
}

// openMenuItem waits for the menu and opens the item n places below the first.
func openMenuItem(s *session, n int) {
	s.waitFor("0 in renewal window")
	if n > 0 {
		s.key(tea.KeyDown, n)
	}
	s.key(tea.KeyEnter, 1)
}

// toPlan opens the rotation n places below the first menu item and
// previews it in the prefilled staging dir.
func toPlan(s *session, n int, kind string) {
	openMenuItem(s, n)
	s.waitFor("staging dir> ")
	s.key(tea.KeyEnter, 1)
	s.waitFor("Generate " + kind + " into")
}

// toLoadPreview drives the CA rotation from the menu to the load preview
// and returns the staged dir.
func toLoadPreview(s *session) string {
	toValidation(s)
	s.waitFor("compare-and-swap at revision 1")
	return fmt.Sprintf("k3sca-rotation-%d", testNow.Unix())
}

func TestCARotationEndToEnd(t *testing.T) {
	sb, cfg := sandbox(t)
	s := start(t, cfg)
	staged := toLoadPreview(s)
	s.typ("load")
	s.key(tea.KeyEnter, 1)
	s.waitFor("new CA hash")

	// The token is wider than 80 columns and wraps once, so one half of
	// the secret is always drawn in one piece when the secret is shown.
	secret := sb.Token.Password
	halves := [][]byte{[]byte(secret[:len(secret)/2]), []byte(secret[len(secret)/2:])}
	shown := func(b []byte) bool { return bytes.Contains(b, halves[0]) || bytes.Contains(b, halves[1]) }
	if shown(s.drawn.Bytes()) {
		t.Fatal("the token secret was drawn before s was pressed")
	}
	s.typ("s")
	s.waitUntil(shown)
	s.typ("s")
	s.waitFor("server:****")
	s.typ("r")
	s.waitFor("simulated restart: 11 bootstrap files")

	view := s.finalView()
	if shown([]byte(view)) {
		t.Fatalf("the token secret is on screen after hiding it again:\n%s", view)
	}
	requireGolden(t, view)

	ca, err := os.ReadFile(filepath.Join(staged, "tls", "server-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ca)
	rep := showDatastore(t, cfg)
	if got, want := fieldSHA(rep, "ServerCA"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("datastore ServerCA sha256 %s, want the staged %s", got, want)
	}
	if rep.Revision != 2 {
		t.Errorf("datastore revision %d, want 2", rep.Revision)
	}
}

func TestLoadNeedsTheExactWord(t *testing.T) {
	_, cfg := sandbox(t)
	before := showDatastore(t, cfg)
	s := start(t, cfg)
	toLoadPreview(s)
	s.typ("lod")
	s.key(tea.KeyEnter, 1)
	s.waitFor(`nothing happens until you type exactly "load"`)
	s.key(tea.KeyEsc, 1)
	s.waitFor("What do you want to do?")
	s.finalView()

	after := showDatastore(t, cfg)
	if after.Revision != before.Revision || fieldSHA(after, "ServerCA") != fieldSHA(before, "ServerCA") {
		t.Errorf("datastore changed without the typed word: revision %d -> %d", before.Revision, after.Revision)
	}
}

func TestLeafRotationRemovesTheChosenService(t *testing.T) {
	_, cfg := sandbox(t)
	files := []string{"client-admin.crt", "client-admin.key"}
	s := start(t, cfg)
	openMenuItem(s, 3)
	s.waitFor("[ ] admin")
	s.key(tea.KeySpace, 1)
	s.key(tea.KeyEnter, 1)
	s.waitFor(`Type "rotate"`)
	s.typ("rotate")
	s.key(tea.KeyEnter, 1)
	s.waitFor("removed 2 files")
	s.finalView()

	for _, f := range files {
		if _, err := os.Stat(filepath.Join("data", "server", "tls", f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: stat error %v, want not exist", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join("data", "server", "tls", "client-scheduler.crt")); err != nil {
		t.Errorf("a service that was not chosen lost its certificate: %v", err)
	}
}

func TestGoldenScreens(t *testing.T) {
	tests := []struct {
		name  string
		drive func(s *session)
	}{
		{"menu", func(s *session) { s.waitFor("0 in renewal window") }},
		{"check", func(s *session) {
			openMenuItem(s, 0)
			s.waitFor("Leaf certificates (13)")
		}},
		{"ca-stage", func(s *session) {
			openMenuItem(s, 1)
			s.waitFor("staging dir> ")
		}},
		{"ca-plan", func(s *session) { toPlan(s, 1, "rotation") }},
		{"load-preview", func(s *session) { toLoadPreview(s) }},
		{"service-key-report", func(s *session) {
			toPlan(s, 2, "service-key")
			s.key(tea.KeyEnter, 1)
			s.waitFor("class    service-key-only")
		}},
		{"custom-import", func(s *session) {
			openMenuItem(s, menuCustomCA)
			s.waitFor("intermediate key")
			s.typ("root-ca.pem")
			s.key(tea.KeyTab, 1)
			s.waitFor("▸ root key")
		}},
		{"custom-refused", func(s *session) { toCustomRefused(s) }},
		{"force-explain", func(s *session) {
			toCustomRefused(s)
			s.typ("f")
			s.waitFor(`Type "force"`)
		}},
		{"leaf-select", func(s *session) {
			s.waitFor("0 in renewal window")
			s.key(tea.KeyUp, 4)
			s.key(tea.KeyEnter, 1)
			s.waitFor("[ ] admin")
			s.typ("a")
			s.waitFor("[x] admin")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := sandbox(t)
			s := start(t, cfg)
			tt.drive(s)
			requireGolden(t, s.finalView())
		})
	}
}
