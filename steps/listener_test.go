package steps

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// stServiceKeyStage stages a new service-account key (the old one kept).
func stServiceKeyStage(t *testing.T, sb *sandbox.Sandbox) string {
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

// stCustomSandbox is a sandbox bootstrapped from a custom root (the
// custom CA flow before the first start) and the dir holding that root's
// ca/root-ca.pem and ca/root-ca.key.
func stCustomSandbox(t *testing.T) (*sandbox.Sandbox, string) {
	t.Helper()
	// The root predates the sandbox's first start.
	set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now.Add(-48 * time.Hour)}, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "pki")
	if err := set.Write(context.Background(), root, testkit.Now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rc, err := os.ReadFile(filepath.Join(root, "ca/root-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rk, err := os.ReadFile(filepath.Join(root, "ca/root-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sb, err := sandbox.Create(context.Background(), sandbox.Input{DataDir: filepath.Join(dir, "data"), Product: product.K3s,
		Now: testkit.Now.Add(-24 * time.Hour), CustomCA: &pki.CustomCAInput{RootCert: rc, RootKey: rk}})
	if err != nil {
		t.Fatalf("custom-root sandbox: %v", err)
	}
	return sb, root
}

// stSameRootStage stages new CAs under the sandbox's own custom root (a new
// intermediate), keeping the current service key.
func stSameRootStage(t *testing.T, sb *sandbox.Sandbox, root string) string {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now}, pki.CustomCAInput{
		RootCert: read(filepath.Join(root, "ca/root-ca.pem")), RootKey: read(filepath.Join(root, "ca/root-ca.key")),
		CurrentServiceKey: read(filepath.Join(sb.ServerDir, filepath.FromSlash(pki.ServiceKeyPath)))})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "same-root")
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stSeedEtcd starts a real embedded etcd holding the sandbox's bootstrap
// value under k3s's key (/bootstrap/<hash of the token's password>), as
// a k3s server on embedded etcd keeps it.
func stSeedEtcd(t *testing.T, sb *sandbox.Sandbox) datastore.EtcdConfig {
	t.Helper()
	ctx := context.Background()
	cfg := stStartEtcd(t)
	e, err := datastore.OpenEtcd(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Create(ctx, sb.Key, stKV(t, sb).Value); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// stCheckModes fails unless every certificate under the server's tls dir
// is 0644 and every key 0600, as k3s leaves them after its start (its
// reconciliation keeps the mode of a file that exists: os.WriteFile).
func stCheckModes(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	tlsDir := filepath.Join(sb.ServerDir, pki.TLSDir)
	var certs int
	err := filepath.WalkDir(tlsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want := fs.FileMode(0)
		switch filepath.Ext(p) {
		case ".crt":
			want, certs = 0o644, certs+1
		case ".key":
			want = 0o600
		default:
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != want {
			rel, _ := filepath.Rel(sb.ServerDir, p)
			t.Errorf("%s: mode %o after the start, want %o", rel, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil || certs == 0 {
		t.Fatalf("walk %s: %v (%d certificates)", tlsDir, err, certs)
	}
}

// TestLoadThenRestartServesNewCA loads each class of set through each
// path (SQLite with k3s stopped, kine's socket and a real embedded etcd
// while it runs, the rotate-ca API stand-in), starts the sandbox on that
// datastore (it keeps, or on the regenerate trigger re-issues, its
// listener's serving certificate and runs k3s's own /cacerts check), then
// dials the listener as a joining node does: /cacerts must hash to the CA
// hash of the new server CA and the serving certificate must chain to that
// bundle. Without the trigger a new root never comes up, with k3s's
// message, as on the real server: on every path.
func TestLoadThenRestartServesNewCA(t *testing.T) {
	ctx := context.Background()
	plain := func(t *testing.T) (*sandbox.Sandbox, string) { return sandboxtest.New(t), "" }
	classes := []struct {
		name        string
		sandbox     func(t *testing.T) (*sandbox.Sandbox, string) // the sandbox and its custom root dir, if any
		stage       func(t *testing.T, sb *sandbox.Sandbox, root string) string
		class       pki.Class
		force       bool
		caChanges   bool
		dropTrigger bool // remove the trigger the load wrote: the outage k3s showed
	}{
		{name: "cross-signed", sandbox: plain, stage: func(t *testing.T, sb *sandbox.Sandbox, _ string) string { return sandboxtest.Stage(t, sb) },
			class: pki.ClassCrossSigned, caChanges: true},
		{name: "same-root", sandbox: stCustomSandbox, stage: stSameRootStage, class: pki.ClassSameRoot, caChanges: true},
		{name: "new-root", sandbox: plain, stage: func(t *testing.T, _ *sandbox.Sandbox, _ string) string { return stFreshCAs(t) },
			class: pki.ClassNewRoot, force: true, caChanges: true},
		{name: "service-key-only", sandbox: plain, stage: func(t *testing.T, sb *sandbox.Sandbox, _ string) string { return stServiceKeyStage(t, sb) },
			class: pki.ClassServiceKeyOnly},
		{name: "new-root without the trigger", sandbox: plain, stage: func(t *testing.T, _ *sandbox.Sandbox, _ string) string { return stFreshCAs(t) },
			class: pki.ClassNewRoot, force: true, caChanges: true, dropTrigger: true},
	}
	paths := []struct {
		name string
		via  Via
	}{{"sqlite", ViaSQLite}, {"kine-socket", ViaEtcd}, {"embedded-etcd", ViaEtcd}, {"server-api", ViaServer}}
	for _, path := range paths {
		via := path.via
		for _, c := range classes {
			t.Run(path.name+"/"+c.name, func(t *testing.T) {
				sb, root := c.sandbox(t)
				stage := c.stage(t, sb, root)
				in := stInput(sb, stage, via)
				in.Force = c.force
				svc := &sandbox.Services{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock, Serve: true}
				t.Cleanup(func() { _ = svc.Close() })
				var stopKine func()
				switch path.name {
				case "kine-socket": // kine's socket while k3s runs
					stopKine = stStartKine(t, sb)
					in.Access.Services = node.NewFakeServices(product.K3s.ServerUnit())
				case "embedded-etcd": // k3s's etcd while k3s runs; the start reads it back
					cfg := stSeedEtcd(t, sb)
					in.Access.Etcd = cfg
					in.Access.Services = node.NewFakeServices(product.K3s.ServerUnit())
					svc.Etcd = &cfg
				case "server-api":
					in.ServerURL = stSupervisor(t, sb)
				}
				l := NewLoad(in)
				plan, err := l.Preview(ctx)
				if err != nil {
					t.Fatalf("preview: %v", err)
				}
				// A direct load's plan names the trigger when the server
				// CA changes; through the API k3s writes it itself.
				if planned := stPlans(plan, ActWrite, pki.RegenerateTriggerPath(sb.ServerDir)); planned != (c.caChanges && via != ViaServer) {
					t.Errorf("the plan lists the trigger: %v, want %v\n%+v", planned, c.caChanges && via != ViaServer, plan.Items)
				}
				if _, err := l.Run(ctx); err != nil {
					t.Fatalf("load: %v", err)
				}
				if got := l.Plan().Validation.Class; got != c.class {
					t.Fatalf("the staged set is %s, want %s", got, c.class)
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
				err = svc.Start(ctx, product.K3s.ServerUnit())
				if c.dropTrigger {
					if !errors.Is(err, sandbox.ErrCACertValidation) || !strings.Contains(err.Error(), "Failed to validate connection to cluster at https://127.0.0.1:") ||
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
				bundle, err := os.ReadFile(pki.ServerCAPath(stage))
				if !c.caChanges {
					bundle, err = os.ReadFile(pki.ServerCAPath(sb.ServerDir))
				}
				if err != nil {
					t.Fatal(err)
				}
				if disk, _ := os.ReadFile(pki.ServerCAPath(sb.ServerDir)); !bytes.Equal(disk, bundle) {
					t.Fatal("the start did not take the loaded server CA from the datastore")
				}
				stCheckModes(t, sb)
				url, ok := svc.SupervisorURL(product.K3s.ServerUnit())
				if !ok {
					t.Fatal("the sandbox does not serve")
				}
				want, err := pki.HashCA(bundle, testkit.Now)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := ReadServerToken(sb.ServerDir)
				if err != nil || tok.CAHash != want.Hex {
					t.Fatalf("server token hash %s (%v), want %s", tok.CAHash, err, want.Hex)
				}
				api := &datastore.ServerAPI{URL: url, Token: pki.Token{CAHash: want.Hex}, Now: testkit.Clock}
				got, err := api.FetchCACerts(ctx)
				if err != nil {
					t.Fatalf("the listener after the start: %v", err)
				}
				if !bytes.Equal(got, bundle) {
					t.Fatal("the listener serves another /cacerts bundle than the loaded server CA")
				}
			})
		}
	}
}

// stPlans reports whether plan holds an item act on target.
func stPlans(plan *Plan, act Action, target string) bool {
	for _, it := range plan.Items {
		if it.Action == act && it.Target == target {
			return true
		}
	}
	return false
}

// TestRestoreThenRestartServesOldCA puts back the backup of a forced
// new-root load after the server came up on the new root: the restore's
// plan names the trigger, the restore leaves it (empty, 0600), and the
// start then serves a certificate from the restored CA; without the
// trigger the start fails with k3s's message, as after the load.
func TestRestoreThenRestartServesOldCA(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(map[bool]string{false: "with the trigger", true: "without the trigger"}[drop], func(t *testing.T) {
			ctx := context.Background()
			sb := sandboxtest.New(t)
			oldCA, err := os.ReadFile(pki.ServerCAPath(sb.ServerDir))
			if err != nil {
				t.Fatal(err)
			}
			in := stInput(sb, stFreshCAs(t), ViaSQLite)
			in.Force = true
			l := NewLoad(in)
			if _, err := l.Run(ctx); err != nil {
				t.Fatalf("load: %v", err)
			}
			svc := &sandbox.Services{DataDir: sb.DataDir, Product: product.K3s, Now: func() time.Time { return testkit.Now.Add(time.Minute) }, Serve: true}
			t.Cleanup(func() { _ = svc.Close() })
			if err := svc.Start(ctx, product.K3s.ServerUnit()); err != nil {
				t.Fatalf("start on the new root: %v", err)
			}
			if err := svc.Stop(ctx, product.K3s.ServerUnit()); err != nil {
				t.Fatal(err)
			}
			r := NewRestore(RestoreInput{DataDir: sb.DataDir, BackupPath: l.Result().Backup, Now: testkit.Now.Add(time.Hour),
				Access: AccessInput{DataDir: sb.DataDir, Via: ViaAuto, Product: product.K3s, Services: node.NewFakeServices()}})
			trigger := pki.RegenerateTriggerPath(sb.ServerDir)
			plan, err := r.Preview(ctx)
			if err != nil || !stPlans(plan, ActWrite, trigger) {
				t.Fatalf("restore plan (%v) does not list %s: %+v", err, trigger, plan)
			}
			if _, err := r.Run(ctx); err != nil {
				t.Fatalf("restore: %v", err)
			}
			fi, err := os.Stat(trigger)
			if err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
				t.Fatalf("the restore left no empty 0600 trigger: %v %v", fi, err)
			}
			if drop {
				if err := os.Remove(trigger); err != nil {
					t.Fatal(err)
				}
			}
			svc.Now = func() time.Time { return testkit.Now.Add(2 * time.Hour) }
			err = svc.Start(ctx, product.K3s.ServerUnit())
			if drop {
				if !errors.Is(err, sandbox.ErrCACertValidation) || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
					t.Fatalf("start after the restore without the trigger: %v, want k3s's CA cert validation failure", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("start after the restore: %v", err)
			}
			if disk, _ := os.ReadFile(pki.ServerCAPath(sb.ServerDir)); !bytes.Equal(disk, oldCA) {
				t.Fatal("the start did not take the restored server CA")
			}
			want, err := pki.HashCA(oldCA, testkit.Now)
			if err != nil {
				t.Fatal(err)
			}
			url, ok := svc.SupervisorURL(product.K3s.ServerUnit())
			if !ok {
				t.Fatal("the sandbox does not serve")
			}
			api := &datastore.ServerAPI{URL: url, Token: pki.Token{CAHash: want.Hex}, Now: func() time.Time { return testkit.Now.Add(2 * time.Hour) }}
			if _, err := api.FetchCACerts(ctx); err != nil {
				t.Fatalf("the listener after the restore: %v", err)
			}
		})
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

// TestWaitReadyIsBounded: a server that keeps serving the old CA is
// reported not ready once the bound is over, naming the bound and what it
// served; the CA it serves is ready at once.
func TestWaitReadyIsBounded(t *testing.T) {
	sb := sandboxtest.New(t)
	url := stSupervisor(t, sb)
	now := testkit.Clock
	if err := node.WaitReady(context.Background(), url, sb.Token.CAHash, time.Second, now); err != nil {
		t.Fatalf("the CA it serves: %v", err)
	}
	start := time.Now()
	err := node.WaitReady(context.Background(), url, strings.Repeat("ab", 32), 300*time.Millisecond, now)
	if !errors.Is(err, node.ErrNotReady) || !strings.Contains(err.Error(), "within 300ms") || !strings.Contains(err.Error(), url+"/cacerts") {
		t.Fatalf("another CA hash: %v, want ErrNotReady within the bound", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waited %s with a 300ms bound", d)
	}
}
