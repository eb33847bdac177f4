package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Menu positions of the flows these tests open.
const (
	menuLoadStaged = 4
	menuCustomCA   = 5
)

// toCustomRefused drives the custom CA flow with every import path empty
// through the staged write to the validation report, which refuses the
// new root, and returns the staged dir.
func toCustomRefused(s *session) string {
	openMenuItem(s, menuCustomCA)
	s.waitFor("intermediate key")
	s.key(tea.KeyEnter, 4)
	s.waitFor("staging dir> ")
	s.key(tea.KeyEnter, 1)
	s.waitFor("Generate custom-ca into")
	s.key(tea.KeyEnter, 1)
	s.waitFor("class    new-root")
	return fmt.Sprintf("k3sca-custom-ca-%d", testNow.Unix())
}

// requireServerCA fails unless the datastore holds staged's server CA.
func requireServerCA(t *testing.T, cfg Config, staged string) {
	t.Helper()
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

func TestCustomCANeedsForceThenLoad(t *testing.T) {
	_, cfg := sandbox(t)
	before := showDatastore(t, cfg)
	s := start(t, cfg)
	staged := toCustomRefused(s)
	s.typ("f")
	s.waitFor(`Type "force"`)
	s.typ("forc")
	s.key(tea.KeyEnter, 1)
	s.waitFor(`nothing happens until you type exactly "force"`)
	if bytes.Contains(s.drawn.Bytes(), []byte(`Type "load"`)) {
		t.Fatal(`the load preview opened before "force" was typed`)
	}
	if now := showDatastore(t, cfg); now.Revision != before.Revision {
		t.Fatalf("datastore revision %d -> %d before the load", before.Revision, now.Revision)
	}
	s.typ("e")
	s.key(tea.KeyEnter, 1)
	s.waitFor("write the datastore (forced)")
	s.typ("load")
	s.key(tea.KeyEnter, 1)
	s.waitFor("new CA hash")
	view := s.finalView()
	for _, want := range []string{"forced: the new root replaces the root of trust", "service-account token to restart"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q missing from the done screen:\n%s", want, view)
		}
	}
	requireServerCA(t, cfg, staged)
}

func TestLoadStagedDirFromElsewhere(t *testing.T) {
	_, cfg := sandbox(t)
	ctx := context.Background()
	set, err := pki.GenerateRotation(ctx, pki.GenOptions{Product: cfg.Product, Now: testNow}, product.ServerDir(cfg.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Write(ctx, "contrib"); err != nil {
		t.Fatal(err)
	}
	s := start(t, cfg)
	openMenuItem(s, menuLoadStaged)
	s.waitFor("staged dir> ./")
	s.typ("contrib")
	s.key(tea.KeyEnter, 1)
	s.waitFor("class    cross-signed")
	s.key(tea.KeyEnter, 1)
	s.waitFor(`Type "load"`)
	s.typ("load")
	s.key(tea.KeyEnter, 1)
	s.waitFor("new CA hash")
	s.finalView()
	requireServerCA(t, cfg, "contrib")
}

func TestLoadStagedDirMissingStaysOnTheInput(t *testing.T) {
	_, cfg := sandbox(t)
	s := start(t, cfg)
	openMenuItem(s, menuLoadStaged)
	s.waitFor("staged dir> ./")
	s.typ("nowhere")
	s.key(tea.KeyEnter, 1)
	s.waitFor("✗ ")
	if v := s.finalView(); !strings.Contains(v, "staged dir> ./nowhere") {
		t.Fatalf("the input was lost after the error:\n%s", v)
	}
}

func TestBadImportPathStaysOnTheForm(t *testing.T) {
	_, cfg := sandbox(t)
	for _, f := range []string{"notpem.crt", "notpem.key"} {
		if err := os.WriteFile(f, []byte("not a PEM file\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, cfg)
	openMenuItem(s, menuCustomCA)
	s.waitFor("intermediate key")
	s.typ("notpem.crt")
	s.key(tea.KeyTab, 1)
	s.typ("notpem.key")
	s.key(tea.KeyEnter, 3)
	s.waitFor("staging dir> ")
	s.key(tea.KeyEnter, 1)
	s.waitFor("✗ ")
	v := s.finalView()
	for _, want := range []string{"root cert         > notpem.crt", "root key          > notpem.key", "generate custom-ca:", "▸ root cert"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing after the error:\n%s", want, v)
		}
	}
}

func TestImportFieldOfAnError(t *testing.T) {
	f := newCustomCAFlow(&Common{Cfg: Config{Now: func() time.Time { return testNow }}})
	wrap := func(in pki.ImportInput) error {
		return fmt.Errorf("generate custom-ca: %w", &pki.ImportError{Input: in, Err: errors.New("bad")})
	}
	tests := []struct {
		err  error
		want int
	}{
		{wrap(pki.InputRootCert), fieldRootCert},
		{wrap(pki.InputRootKey), fieldRootKey},
		{wrap(pki.InputIntermediateCert), fieldIntCert},
		{wrap(pki.InputIntermediateKey), fieldIntKey},
		{errors.New("generate custom-ca: something else"), fieldRootCert},
	}
	for _, tt := range tests {
		if got := f.importField(tt.err); got != tt.want {
			t.Errorf("importField(%q) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
