package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// flowEnv is the Env of a flow test on sb: a fake service manager whose
// start of k3s does what k3s does at start (SimulateRestart).
func flowEnv(t testing.TB, sb *sandbox.Sandbox, running bool) (Env, *node.FakeServices) {
	t.Helper()
	var svc *node.FakeServices
	if running {
		svc = node.NewFakeServices(product.K3s.ServerUnit())
	} else {
		svc = node.NewFakeServices()
	}
	svc.OnStart = func(ctx context.Context, unit string) error {
		_, err := sandbox.SimulateRestart(ctx, sb.DataDir, product.K3s, testkit.Now)
		return err
	}
	return Env{
		DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock,
		StageRoot: filepath.Dir(sb.DataDir), Services: svc, ClusterName: "sandbox",
	}, svc
}

// buildFlowErr builds flow id with vals over the spec's defaults; values
// the spec refuses fail the test.
func buildFlowErr(t testing.TB, env Env, id string, vals map[string]string) (*Flow, error) {
	t.Helper()
	spec, ok := FindFlow(Flows(), id)
	if !ok {
		t.Fatalf("no flow %s", id)
	}
	all := spec.InitialValues(env)
	for k, v := range vals {
		all[k] = v
	}
	if err := spec.CheckValues(all); err != nil {
		t.Fatalf("values of %s: %v", id, err)
	}
	return spec.Build(context.Background(), env, all)
}

// buildFlow is buildFlowErr for a flow that must build.
func buildFlow(t testing.TB, env Env, id string, vals map[string]string) *Flow {
	t.Helper()
	f, err := buildFlowErr(t, env, id, vals)
	if err != nil {
		t.Fatalf("build %s: %v", id, err)
	}
	return f
}

// runFlow builds spec id with vals and runs it headless.
func runFlow(t testing.TB, env Env, id string, vals map[string]string, r Runner) (Report, string, error) {
	t.Helper()
	env.DryRun = r.DryRun
	f, err := buildFlowErr(t, env, id, vals)
	if err != nil {
		return Report{}, "", err
	}
	var out bytes.Buffer
	r.Out = &out
	rep, err := r.Run(context.Background(), f)
	return rep, out.String(), err
}

// customRoot writes a generated root (and intermediate) and returns the
// dir holding ca/root-ca.pem and ca/root-ca.key.
func customRoot(t testing.TB) string {
	t.Helper()
	set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now.Add(-time.Hour)}, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pki")
	if err := set.Write(context.Background(), dir, testkit.Now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rotateWithBackup runs the rotate-ca flow, confirmed, on sb and returns
// the one backup its load made.
func rotateWithBackup(t *testing.T, env Env, sb *sandbox.Sandbox) *Backup {
	t.Helper()
	if _, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(t.TempDir(), "s")}, Runner{Yes: true, Words: []string{"load"}}); err != nil {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	bs, err := ListBackups(sb.DataDir)
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups: %v %v", bs, err)
	}
	return bs[0]
}

func diskHash(t testing.TB, sb *sandbox.Sandbox) string {
	t.Helper()
	h, err := currentHash(sb.ServerDir, testkit.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDryRunWritesNothing runs every flow dry on a sandbox and compares a
// checksum of the whole sandbox (data dir, stage root, backups) before and
// after; no scratch dir may be left behind.
func TestDryRunWritesNothing(t *testing.T) {
	root := customRoot(t)
	cases := []struct {
		id      string
		vals    map[string]string
		running bool
	}{
		{id: FlowCheck},
		{id: FlowRotateCerts, vals: map[string]string{"services": "api-server,kubelet"}, running: true},
		{id: FlowRotateCA},
		{id: FlowRotateCA, running: true},
		{id: FlowRotateServiceKey},
		{id: FlowRotateCustomCA, vals: map[string]string{"root": "new", "root-cert": filepath.Join(root, "ca/root-ca.pem"), "root-key": filepath.Join(root, "ca/root-ca.key")}},
		{id: FlowDatastore},
		{id: FlowLoad},
		{id: FlowCustomCA},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			sb := sandboxtest.New(t)
			env, svc := flowEnv(t, sb, tc.running)
			top := filepath.Dir(sb.DataDir)
			switch tc.id {
			case FlowLoad:
				tc.vals = map[string]string{"path": sandboxtest.Stage(t, sb)}
			case FlowCustomCA:
				// A cluster that has not started: an empty data dir.
				env.DataDir = filepath.Join(top, "fresh")
			}
			before := testkit.Fingerprint(t, top)
			env.ScratchRoot = t.TempDir()
			rep, out, err := runFlow(t, env, tc.id, tc.vals, Runner{DryRun: true})
			if err != nil {
				t.Fatalf("dry run: %v\n%s", err, out)
			}
			if !rep.OK || !rep.DryRun {
				t.Fatalf("report: ok=%v dry=%v", rep.OK, rep.DryRun)
			}
			if after := testkit.Fingerprint(t, top); after != before {
				t.Fatalf("the dry run changed the sandbox\n%s", out)
			}
			if calls := svc.Calls(); len(calls) > 0 {
				t.Fatalf("the dry run called the service manager: %v", calls)
			}
			if left, _ := filepath.Glob(filepath.Join(env.ScratchRoot, "*")); len(left) > 0 {
				t.Fatalf("scratch dirs left: %v", left)
			}
			if !strings.Contains(out, "nothing was written") {
				t.Fatalf("no dry-run summary:\n%s", out)
			}
		})
	}
}

func TestRotateCAFlowEndToEnd(t *testing.T) {
	sb := sandboxtest.New(t)
	env, svc := flowEnv(t, sb, true)
	oldHash := diskHash(t, sb)
	stage := filepath.Join(t.TempDir(), "stage")
	// Without --yes, and with --yes but not the typed "load", the run is
	// refused before its first step, naming every flag it needs.
	for _, r := range []Runner{{}, {Yes: true}} {
		rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": stage}, r)
		var nc *NotConfirmedError
		if !errors.As(err, &nc) || !strings.Contains(err.Error(), "--yes --confirm load") || rep.Declined == "" {
			t.Fatalf("yes=%v: want a refusal naming --yes --confirm load: %v\n%s", r.Yes, err, out)
		}
		if _, err := os.Stat(stage); !errors.Is(err, os.ErrNotExist) || len(svc.Calls()) > 0 || strings.Contains(out, "step 1/7") {
			t.Fatalf("a refused run did something: calls %v\n%s", svc.Calls(), out)
		}
	}
	stage2 := filepath.Join(t.TempDir(), "stage2")
	rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": stage2}, Runner{Yes: true, Words: []string{"load"}})
	if err != nil {
		t.Fatalf("rotate-ca: %v\n%s", err, out)
	}
	if !rep.OK {
		t.Fatalf("not ok: %+v", rep)
	}
	newHash := diskHash(t, sb)
	if newHash == oldHash {
		t.Fatal("the simulated start did not take the new CA from the datastore")
	}
	tok, err := ReadServerToken(sb.ServerDir)
	if err != nil || tok.CAHash != newHash {
		t.Fatalf("server token after restart: %v %v", tok.CAHash, err)
	}
	for _, want := range []string{"step 1/7 Generate", "step 4/7 done: k3s stopped", "step 7/7 done: servers first", "new token: K10" + newHash[:8]} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, sb.Token.Password) {
		t.Fatal("the token's password reached the output without --show-token")
	}
	raw, err := json.Marshal(rep)
	if err != nil || bytes.Contains(raw, []byte(sb.Token.Password)) {
		t.Fatalf("the JSON report holds the password (%v)", err)
	}
}

func TestRotateCustomCANewRootNeedsClusterName(t *testing.T) {
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, false)
	root := customRoot(t)
	vals := map[string]string{"root-cert": filepath.Join(root, "ca/root-ca.pem"), "root-key": filepath.Join(root, "ca/root-ca.key"),
		"path": filepath.Join(t.TempDir(), "same")}
	// Same root claimed on self-signed CAs: refused before anything is
	// staged, saying which choice fits.
	vals["root"] = "same"
	_, out, err := runFlow(t, env, FlowRotateCustomCA, vals, Runner{Yes: true, Words: []string{"load", "sandbox"}})
	if !errors.Is(err, ErrWrongRootChoice) || !strings.Contains(err.Error(), `Choose root "new"`) || !strings.Contains(err.Error(), "self-signed") {
		t.Fatalf("same-root claim on a new root: %v\n%s", err, out)
	}
	if _, err := os.Stat(vals["path"]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused choice staged %s", vals["path"])
	}
	vals["root"], vals["path"] = "new", filepath.Join(t.TempDir(), "new")
	_, out, err = runFlow(t, env, FlowRotateCustomCA, vals, Runner{Yes: true, Words: []string{"load"}})
	if !errors.Is(err, ErrNotConfirmed) || !strings.Contains(err.Error(), "--confirm sandbox") {
		t.Fatalf("a new root is confirmed by the cluster name, not by load: %v\n%s", err, out)
	}
	vals["path"] = filepath.Join(t.TempDir(), "new2")
	if _, out, err = runFlow(t, env, FlowRotateCustomCA, vals, Runner{Yes: true, Words: []string{"sandbox"}}); err != nil {
		t.Fatalf("forced new root: %v\n%s", err, out)
	}
	assertChainsTo(t, sb, filepath.Join(root, "ca/root-ca.pem"))
	// Now the same root again, with a new intermediate: no force needed.
	vals["root"], vals["path"] = "same", filepath.Join(t.TempDir(), "same2")
	if _, out, err = runFlow(t, env, FlowRotateCustomCA, vals, Runner{Yes: true, Words: []string{"load"}}); err != nil {
		t.Fatalf("same root: %v\n%s", err, out)
	}
	assertChainsTo(t, sb, filepath.Join(root, "ca/root-ca.pem"))
	// Another custom root, claimed as the same: refused, naming the
	// cluster's root.
	other := customRoot(t)
	vals["root-cert"], vals["root-key"] = filepath.Join(other, "ca/root-ca.pem"), filepath.Join(other, "ca/root-ca.key")
	if _, _, err = runFlow(t, env, FlowRotateCustomCA, vals, Runner{Yes: true, Words: []string{"load"}}); !errors.Is(err, ErrWrongRootChoice) || !strings.Contains(err.Error(), "does not chain to") {
		t.Fatalf("another root claimed as the same: %v", err)
	}
}

// assertChainsTo checks the live server CA bundle ends at rootPEM.
func assertChainsTo(t *testing.T, sb *sandbox.Sandbox, rootPEM string) {
	t.Helper()
	want, err := os.ReadFile(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := pki.Field("ServerCA")
	got, err := os.ReadFile(f.Abs(sb.ServerDir))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatalf("server-ca.crt does not end with the root %s", rootPEM)
	}
}

func TestBootstrapCustomCA(t *testing.T) {
	dd := filepath.Join(t.TempDir(), "data")
	env := Env{DataDir: dd, Product: product.K3s, Now: testkit.Clock, Services: node.NewFakeServices(), Token: "K10" + strings.Repeat("0", 64) + "::server:secretpassword"}
	rep, out, err := runFlow(t, env, FlowCustomCA, nil, Runner{Yes: true})
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	if !rep.OK {
		t.Fatalf("report: %+v", rep)
	}
	server := product.ServerDir(dd)
	for _, f := range pki.BootstrapFields {
		if f.Rotate {
			if _, err := os.Stat(f.Abs(server)); err != nil {
				t.Errorf("missing %s: %v", f.Name, err)
			}
		}
	}
	for _, want := range []string{"Move these keys", filepath.Join(server, "ca", "root-ca.key"), "K10"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secretpassword") {
		t.Fatal("token password on the output")
	}
	// Only notes that apply before a first start: no restart, no
	// replacement of self-signed CAs, no rotation verdict.
	for _, wrong := range []string{"After the restart", "Replacing existing self-signed CAs", "no-change"} {
		if strings.Contains(out, wrong) {
			t.Errorf("the bootstrap says %q, which does not apply to it:\n%s", wrong, out)
		}
	}
	raw, _ := json.Marshal(rep)
	if bytes.Contains(raw, []byte("no-change")) {
		t.Errorf("the bootstrap's JSON holds a rotation class: %s", raw)
	}
	// A second run finds the cluster initialised and changes nothing.
	before := testkit.Fingerprint(t, dd)
	_, out, err = runFlow(t, env, FlowCustomCA, nil, Runner{Yes: true})
	if !errors.Is(err, ErrInitialized) || !strings.Contains(out, "Rotate a custom CA") {
		t.Fatalf("second bootstrap: %v\n%s", err, out)
	}
	if testkit.Fingerprint(t, dd) != before {
		t.Fatal("the refused bootstrap changed files")
	}
}

func TestBootstrapCustomCARefusesAStartedCluster(t *testing.T) {
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, false)
	before := testkit.Fingerprint(t, filepath.Dir(sb.DataDir))
	_, _, err := runFlow(t, env, FlowCustomCA, nil, Runner{Yes: true})
	if !errors.Is(err, ErrInitialized) {
		t.Fatalf("got %v", err)
	}
	if testkit.Fingerprint(t, filepath.Dir(sb.DataDir)) != before {
		t.Fatal("changed files")
	}
}

func TestRotateCertsFlow(t *testing.T) {
	sb := sandboxtest.New(t)
	env, svc := flowEnv(t, sb, true)
	rep, out, err := runFlow(t, env, FlowRotateCerts, map[string]string{"services": "api-server"}, Runner{Yes: true})
	if err != nil {
		t.Fatalf("rotate-certs: %v\n%s", err, out)
	}
	if got := strings.Join(svc.Calls(), ","); got != "stop k3s,start k3s" {
		t.Fatalf("service calls %s", got)
	}
	last := rep.Steps[len(rep.Steps)-1].Outcome
	inv, ok := last.Data.(*pki.Inventory)
	if !ok || len(inv.Leaves) == 0 {
		t.Fatalf("no inventory at the end: %#v", last)
	}
	for _, c := range inv.Leaves {
		if c.Service != "api-server" {
			t.Fatalf("report holds %s", c.Service)
		}
		if c.NotBefore.Before(testkit.Now.Add(-2 * time.Hour)) {
			t.Fatalf("%s was not re-issued: not before %s", c.Path, c.NotBefore)
		}
	}
}

func TestStartFailureRollsBack(t *testing.T) {
	sb := sandboxtest.New(t)
	env, svc := flowEnv(t, sb, true)
	svc.FailStart = "nothing"
	// The load refuses (a wrong token): k3s, stopped for the write, is started again.
	env.Token = "K10" + strings.Repeat("0", 64) + "::server:wrongpassword"
	rep, out, err := runFlow(t, env, FlowRotateServiceKey, map[string]string{"path": filepath.Join(t.TempDir(), "s")}, Runner{Yes: true, Words: []string{"load"}})
	if err == nil {
		t.Fatalf("a wrong token must fail the load\n%s", out)
	}
	if !rep.RolledBack || !strings.Contains(out, "rolled back") {
		t.Fatalf("no rollback: %+v\n%s", rep, out)
	}
	if got := strings.Join(svc.Calls(), ","); got != "stop k3s,start k3s" {
		t.Fatalf("service calls %s", got)
	}
}

func TestDatastoreFlowShowsAndRestores(t *testing.T) {
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, false)
	before := diskHash(t, sb)
	backup := rotateWithBackup(t, env, sb)
	rotated := diskHash(t, sb)
	rep, out, err := runFlow(t, env, FlowDatastore, map[string]string{"restore": backup.Path}, Runner{Yes: true, Words: []string{"restore"}})
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if !strings.Contains(out, backup.Path) || rep.Steps[0].Status != StatusDone {
		t.Fatalf("show/list:\n%s", out)
	}
	if diskHash(t, sb) == rotated {
		t.Fatal("after restore and restart the old CA should be back on disk")
	}
	// Both backups record the CA hash of the value they saved: the load's
	// the CA before the rotation, the restore's safety backup the rotated one.
	if backup.CAHash != before {
		t.Errorf("the load's backup records CA hash %q, want %s", backup.CAHash, before)
	}
	after, err := ListBackups(sb.DataDir)
	if err != nil || len(after) != 2 {
		t.Fatalf("backups after the restore: %v %v", after, err)
	}
	safety := after[0]
	if safety.Path == backup.Path {
		safety = after[1] // made in the same (pinned) second
	}
	if safety.CAHash != rotated {
		t.Errorf("the restore's safety backup %s records CA hash %q, want %s", safety.Path, safety.CAHash, rotated)
	}
}

func TestFlowSpecsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Flows() {
		if s.ID == "" || s.Title == "" || s.Summary == "" || s.Build == nil || seen[s.ID] {
			t.Errorf("incomplete or duplicate spec %+v", s)
		}
		seen[s.ID] = true
		for _, f := range s.Fields {
			if f.Key == "" || f.Label == "" || f.Help == "" || f.Kind == "" {
				t.Errorf("%s: incomplete field %+v", s.ID, f)
			}
		}
	}
	for _, id := range []string{FlowCheck, FlowRotateCerts, FlowCustomCA, FlowRotateCustomCA, FlowRotateCA, FlowRotateServiceKey, FlowDatastore, FlowLoad} {
		if !seen[id] {
			t.Errorf("missing flow %s", id)
		}
	}
}

// TestRestoreThenRestartWaitsForTheRestoredCA: after a restore the restart
// waits for the backup's CA (not the one on disk before it): the sandbox's
// listener serves it, so the flow ends at once instead of timing out.
func TestRestoreThenRestartWaitsForTheRestoredCA(t *testing.T) {
	sb := sandboxtest.New(t)
	now := testkit.Clock
	svc := &sandbox.Services{DataDir: sb.DataDir, Product: product.K3s, Now: now, Serve: true}
	t.Cleanup(func() { _ = svc.Close() })
	env := Env{DataDir: sb.DataDir, Product: product.K3s, Now: now, StageRoot: filepath.Dir(sb.DataDir), Services: svc,
		ClusterName: "sandbox", RestartTimeout: 3 * time.Second}
	oldHash := diskHash(t, sb)
	backup := rotateWithBackup(t, env, sb)
	rep, out, err := runFlow(t, env, FlowDatastore, map[string]string{"restore": backup.Path}, Runner{Yes: true, Words: []string{"restore"}})
	if err != nil || !rep.OK {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if !strings.Contains(out, "serves CA hash "+oldHash) || diskHash(t, sb) != oldHash {
		t.Fatalf("the restart did not wait for the restored CA %s:\n%s", oldHash, out)
	}
}
