package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// TestRealRotateCAOnASandbox drives the real rotate-ca flow from the menu
// on a sandbox whose k3s runs: every question answered, the datastore then
// holds the staged server CA, the simulated restart took it, and the new
// token is drawn only after t.
func TestRealRotateCAOnASandbox(t *testing.T) {
	sb, env := uiSandbox(t)
	svc := node.NewFakeServices(product.K3s.ServerUnit())
	svc.OnStart = func(ctx context.Context, _ string) error {
		_, err := sandbox.SimulateRestart(ctx, sb.DataDir, product.K3s, testkit.Now)
		return err
	}
	env.Services, env.ClusterName = svc, "sandbox"
	s := toTheStopQuestion(t, env)
	// The stop is confirmed with the load's word, after the load's diff:
	// the load and the restart then run without asking again.
	s.typ("load")
	s.key(tea.KeyEnter, 1)
	s.waitFor("✓ done")
	if strings.Contains(s.drawn.String(), sb.Token.Password) {
		t.Fatal("the token secret was drawn before t")
	}
	s.key(tea.KeyPgDown, 6)
	s.typ("t")
	s.waitFor(sb.Token.Password[:8])
	view := s.finalView()
	for _, want := range []string{"✓ done", "[sandbox]", "k3s running"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q missing from the end:\n%s", want, view)
		}
	}

	staged := filepath.Join("k3sca-rotation-1795780800", "tls", "server-ca.crt")
	ca, err := os.ReadFile(staged)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := steps.ShowDatastore(context.Background(),
		steps.AccessInput{DataDir: "data", Via: steps.ViaSQLite, Product: product.K3s, Services: node.NewFakeServices()}, "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ca)
	for _, f := range rep.Fields {
		if f.Field == "ServerCA" && f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("datastore ServerCA sha256 %s, want the staged one", f.SHA256)
		}
	}
	live, err := os.ReadFile(filepath.Join("data", "server", "tls", "server-ca.crt"))
	if err != nil || string(live) != string(ca) {
		t.Errorf("the simulated restart did not take the new server CA (err %v)", err)
	}
}

// TestRealRotateCANoAtTheStop answers No (esc) at the question that stops
// k3s: k3s was never stopped, nothing was loaded, and the end says so.
func TestRealRotateCANoAtTheStop(t *testing.T) {
	_, env := uiSandbox(t)
	svc := node.NewFakeServices(product.K3s.ServerUnit())
	env.Services, env.ClusterName = svc, "sandbox"
	s := toTheStopQuestion(t, env)
	s.key(tea.KeyEsc, 1)
	// The staged set was never loaded: the end names it, x removes it.
	stage := "k3sca-rotation-1795780800"
	s.waitFor("left behind: " + stage)
	if _, err := os.Stat(stage); err != nil {
		t.Fatalf("the staged dir: %v", err)
	}
	s.typ("x")
	s.waitFor("removed " + stage)
	view := s.finalView()
	if calls := svc.Calls(); len(calls) > 0 {
		t.Errorf("the service manager was called: %v", calls)
	}
	for _, want := range []string{"not confirmed: stopped before step 4", "k3s is running", "removed " + stage} {
		if !strings.Contains(view, want) {
			t.Errorf("the end lacks %q:\n%s", want, view)
		}
	}
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Errorf("x did not remove %s: %v", stage, err)
	}
}

// toTheStopQuestion opens rotate-ca from the menu on env's sandbox, starts
// it, confirms the generate step and waits at the question that stops k3s.
func toTheStopQuestion(t *testing.T, env steps.Env) *session {
	t.Helper()
	specs := steps.Flows()
	at := slices.IndexFunc(specs, func(sp steps.FlowSpec) bool { return sp.ID == steps.FlowRotateCA })
	if at < 0 {
		t.Fatal("no rotate-ca flow")
	}
	s := startWith(t, newModel(context.Background(), Config{Env: env, Specs: specs, Sandbox: true}, deps{}), 120, 40)
	openItem(s, at)
	s.waitFor("▸ staging dir")
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("writes: Generate")
	s.typ("y")
	s.key(tea.KeyEnter, 1)
	s.waitFor(`Type "load" and press enter to run steps 4-6`)
	return s
}
