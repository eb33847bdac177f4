package steps

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// stServiceKeyStage stages a new service-account key (the old one kept).
func stServiceKeyStage(t *testing.T, sb *Sandbox) string {
	t.Helper()
	cur, err := os.ReadFile(filepath.Join(sb.ServerDir, filepath.FromSlash(pki.ServiceKeyPath)))
	if err != nil {
		t.Fatal(err)
	}
	set, err := pki.GenerateServiceKeyRotation(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now}, cur)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sk")
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadThenRestartServesNewCA loads each class of set through each
// direct path, starts the sandbox (which keeps, or on the regenerate
// trigger re-issues, its listener's serving certificate and runs k3s's own
// /cacerts check), then dials the listener as a joining node does: /cacerts
// must hash to the CA hash of the new server CA and the serving certificate
// must chain to that bundle. Without the trigger a new root never comes up,
// with k3s's message, as on the real server.
func TestLoadThenRestartServesNewCA(t *testing.T) {
	ctx := context.Background()
	classes := []struct {
		name        string
		stage       func(t *testing.T, sb *Sandbox) string
		force       bool
		caChanges   bool
		dropTrigger bool // remove the trigger the load wrote: the outage k3s showed
	}{
		{name: "cross-signed", stage: func(t *testing.T, sb *Sandbox) string { return stStage(t, sb) }, caChanges: true},
		{name: "new-root", stage: func(t *testing.T, _ *Sandbox) string { return stFreshCAs(t) }, force: true, caChanges: true},
		{name: "service-key-only", stage: stServiceKeyStage},
		{name: "new-root without the trigger", stage: func(t *testing.T, _ *Sandbox) string { return stFreshCAs(t) }, force: true, caChanges: true, dropTrigger: true},
	}
	paths := []struct {
		name string
		via  Via
	}{{"sqlite", ViaSQLite}, {"kine-socket", ViaEtcd}, {"server-api", ViaServer}}
	for _, path := range paths {
		via := path.via
		for _, c := range classes {
			t.Run(path.name+"/"+c.name, func(t *testing.T) {
				sb := stSandbox(t)
				stage := c.stage(t, sb)
				in := stInput(sb, stage, via)
				in.Force = c.force
				var stopKine func()
				switch via {
				case ViaEtcd: // kine's socket while k3s runs
					stopKine = stStartKine(t, sb)
					in.Access.Services = stServices{active: true}
				case ViaServer:
					in.ServerURL = stSupervisor(t, sb)
				}
				l := NewLoad(in)
				if _, err := l.Run(ctx); err != nil {
					t.Fatalf("load: %v", err)
				}
				if stopKine != nil {
					stopKine()
				}
				trigger := pki.RegenerateTriggerPath(sb.ServerDir)
				fi, err := os.Stat(trigger)
				// k3sca writes it when the server CA changes; k3s's
				// rotate-ca handler after every save.
				if wantTrigger := c.caChanges || via == ViaServer; wantTrigger != (err == nil) {
					t.Fatalf("regenerate trigger present=%v, want %v", err == nil, wantTrigger)
				}
				if err == nil && (fi.Size() != 0 || fi.Mode().Perm() != 0o600) {
					t.Fatalf("trigger size %d mode %v, want empty 0600", fi.Size(), fi.Mode().Perm())
				}
				if c.dropTrigger {
					if err := os.Remove(trigger); err != nil {
						t.Fatal(err)
					}
				}
				svc := &SandboxServices{DataDir: sb.DataDir, Product: product.K3s, Now: func() time.Time { return testkit.Now }, Serve: true}
				t.Cleanup(func() { _ = svc.Close() })
				err = svc.Start(ctx, product.K3s.ServerUnit())
				if c.dropTrigger {
					if !errors.Is(err, ErrCACertValidation) || !strings.Contains(err.Error(), "Failed to validate connection to cluster at https://127.0.0.1:") ||
						!strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
						t.Fatalf("start without the trigger: %v, want k3s's CA cert validation failure", err)
					}
					lines, lerr := svc.ErrorLog(ctx, product.K3s.ServerUnit(), 5)
					if lerr != nil || len(lines) == 0 || !strings.Contains(lines[len(lines)-1], "level=fatal") {
						t.Fatalf("sandbox log: %q %v", lines, lerr)
					}
					return
				}
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				if _, err := os.Stat(trigger); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the start did not consume the trigger: %v", err)
				}
				url, ok := svc.SupervisorURL(product.K3s.ServerUnit())
				if !ok {
					t.Fatal("the sandbox does not serve")
				}
				bundle, err := os.ReadFile(pki.ServerCAPath(stage))
				if !c.caChanges {
					bundle, err = os.ReadFile(pki.ServerCAPath(sb.ServerDir))
				}
				if err != nil {
					t.Fatal(err)
				}
				want, err := pki.HashCA(bundle, testkit.Now)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := ReadServerToken(sb.ServerDir)
				if err != nil || tok.CAHash != want.Hex {
					t.Fatalf("server token hash %s (%v), want %s", tok.CAHash, err, want.Hex)
				}
				api := &datastore.ServerAPI{URL: url, Token: pki.Token{CAHash: want.Hex}, Now: func() time.Time { return testkit.Now }}
				if _, err := api.FetchCACerts(ctx); err != nil {
					t.Fatalf("the listener after the start: %v", err)
				}
			})
		}
	}
}

// TestRestartPlanTriggerCommandRuns runs the command the restart plan
// prints for every other server (on a temp copy of its path).
func TestRestartPlanTriggerCommandRuns(t *testing.T) {
	out := restartPlan(product.K3s, restartAll, nil)
	var cmd string
	for _, d := range out.Details {
		if c, ok := strings.CutPrefix(strings.TrimSpace(d), "on each: "); ok {
			cmd = c
		}
	}
	if cmd == "" {
		t.Fatalf("the plan prints no command for the other servers: %q", out.Details)
	}
	dd := filepath.Join(t.TempDir(), "k3s")
	if err := os.MkdirAll(filepath.Join(dd, "server", "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd = strings.ReplaceAll(cmd, product.K3s.DefaultDataDir(), dd)
	if b, err := exec.Command("bash", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", cmd, err, b)
	}
	fi, err := os.Stat(pki.RegenerateTriggerPath(product.ServerDir(dd)))
	if err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after %q: %v %v", cmd, fi, err)
	}
}
