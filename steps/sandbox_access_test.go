package steps

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestSandboxServicesGateSQLite: a started sandbox makes ChooseAccess refuse
// a direct SQLite write, a stopped one allows it; the restart is the real one.
func TestSandboxServicesGateSQLite(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	if _, err := NewLoad(stInput(sb, stage, ViaAuto)).Run(ctx); err != nil {
		t.Fatal(err)
	}
	s := &sandbox.Services{DataDir: sb.DataDir, Now: func() time.Time { return testkit.Now.Add(time.Minute) }}
	in := AccessInput{DataDir: sb.DataDir, Product: product.K3s, Services: s}
	if acc, err := ChooseAccess(ctx, in); err != nil || acc.Via != ViaSQLite {
		t.Fatalf("stopped sandbox: %v %v, want sqlite", acc.Via, err)
	}
	if err := s.Start(ctx, product.K3s.ServerUnit()); err != nil {
		t.Fatal(err)
	}
	staged, _ := os.ReadFile(pki.ServerCAPath(stage))
	disk, _ := os.ReadFile(pki.ServerCAPath(sb.ServerDir))
	if string(staged) != string(disk) {
		t.Error("start did not take the loaded server CA from the datastore")
	}
	if _, err := ChooseAccess(ctx, in); !errors.Is(err, ErrK3sRunning) {
		t.Errorf("running sandbox: %v, want ErrK3sRunning", err)
	}
	if err := s.Stop(ctx, product.K3s.ServerUnit()); err != nil {
		t.Fatal(err)
	}
	if acc, err := ChooseAccess(ctx, in); err != nil || acc.Via != ViaSQLite {
		t.Errorf("stopped again: %v %v, want sqlite", acc.Via, err)
	}
}
