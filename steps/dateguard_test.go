package steps

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
)

// TestDateIndependence runs a whole rotation on a sandbox (stage, validate,
// load into SQLite, the simulated k3s start that compares every file's mtime
// with the datastore's stamps) with the clock pinned a year before and a
// year after the real date. A file that any step, the sandbox or a fixture
// writes with the wall clock's mtime instead of the injected clock's is, a
// year before the real date, a year newer than the datastore, and the start
// refuses with "newer than datastore", as k3s would.
func TestDateIndependence(t *testing.T) {
	real := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"a year before the real date", real.AddDate(-1, 0, 0)},
		{"a year after the real date", real.AddDate(1, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			clock := func() time.Time { return now }
			root, err := os.MkdirTemp("", "date")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(root) })
			dd := filepath.Join(root, "data")
			sb, err := sandbox.Create(context.Background(), sandbox.Input{DataDir: dd, Product: product.K3s, Now: now.Add(-time.Hour), NearExpiry: true})
			if err != nil {
				t.Fatalf("sandbox: %v", err)
			}
			svc := &sandbox.Services{DataDir: dd, Product: product.K3s, Now: clock}
			env := Env{DataDir: dd, Product: product.K3s, Now: clock, StageRoot: root, Services: svc, ClusterName: "sandbox"}
			oldHash := diskHash(t, sb)
			rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(root, "stage")}, Runner{Yes: true, Words: []string{"load"}})
			if err != nil || !rep.OK {
				t.Fatalf("rotate-ca at %s: %v\n%s", now.Format(time.RFC3339), err, out)
			}
			if active, err := svc.IsActive(context.Background(), product.K3s.ServerUnit()); err != nil || !active {
				t.Fatalf("k3s after the flow: active=%v %v", active, err)
			}
			tok, err := ReadServerToken(sb.ServerDir)
			if err != nil || tok.CAHash == oldHash {
				t.Fatalf("the simulated start did not take the new CAs: %v %v", tok.CAHash, err)
			}
			// A second start on the same files must agree with the datastore too.
			if err := svc.Stop(context.Background(), product.K3s.ServerUnit()); err != nil {
				t.Fatal(err)
			}
			if err := svc.Start(context.Background(), product.K3s.ServerUnit()); err != nil {
				t.Fatalf("second start: %v", err)
			}
		})
	}
}
