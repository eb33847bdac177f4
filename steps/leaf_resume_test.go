package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// Environment of TestRolloutHelperProcess when it runs rotate-certs (the
// leaf rollout) instead of a CA rollout: the mode ("flow": the whole
// flow; "rollout": its rollout step alone, no --rotated-since) and the
// child's clock (unix seconds).
const (
	lrEnvMode = "K3SCA_LR_MODE"
	lrEnvNow  = "K3SCA_LR_NOW"
)

// leafHookHost is a node's host that calls hit at each file operation of
// a leaf rotation: inside and after each write ("<node> temp", "<node>
// written"), before each removal ("<node> remove <base name>") and before
// each rename ("<node> rename").
type leafHookHost struct {
	leafTestHost
	name string
	hit  func(string)
}

// leafTestHost is what a leaf rotation needs of a node's host.
type leafTestHost interface {
	rollout.Host
	Stat(ctx context.Context, path string) (remote.FileInfo, error)
	remote.FileOps
}

func (h leafHookHost) WriteFile(ctx context.Context, p string, data []byte, opts remote.WriteOptions) (string, error) {
	opts.Hook = func(point string) { h.hit(h.name + " " + point) }
	b, err := h.leafTestHost.WriteFile(ctx, p, data, opts)
	h.hit(h.name + " written")
	return b, err
}

func (h leafHookHost) Remove(ctx context.Context, p string) error {
	h.hit(h.name + " remove " + filepath.Base(p))
	return h.leafTestHost.Remove(ctx, p)
}

func (h leafHookHost) Rename(ctx context.Context, from, to string) error {
	h.hit(h.name + " rename")
	return h.leafTestHost.Rename(ctx, from, to)
}

// leafHookService is a node's service that calls hit before its stop and
// start ("<node> stop", "<node> start") and after its start ("<node>
// started").
type leafHookService struct {
	rollout.Service
	name string
	hit  func(string)
}

func (s leafHookService) Stop(ctx context.Context) error {
	s.hit(s.name + " stop")
	return s.Service.(rollout.Stopper).Stop(ctx)
}

func (s leafHookService) Restart(ctx context.Context) error {
	s.hit(s.name + " start")
	err := s.Service.Restart(ctx)
	s.hit(s.name + " started")
	return err
}

// hookedClusters are the sandbox's clusters with every member's host and
// service hooked.
type hookedClusters struct {
	sandbox.Clusters
	hit func(string)
}

func (hc hookedClusters) Members(inv string, p product.Product, now func() time.Time) ([]rollout.Member, func(), bool, error) {
	members, release, ok, err := hc.Clusters.Members(inv, p, now)
	for i := range members {
		name := members[i].Node.Name
		members[i].Host = leafHookHost{leafTestHost: members[i].Host.(leafTestHost), name: name, hit: hc.hit}
		members[i].Service = leafHookService{Service: members[i].Service, name: name, hit: hc.hit}
	}
	return members, release, ok, err
}

// leafFlowEnv is the env of rotate-certs on s1 of the sandbox cluster c,
// at the clock now.
func leafFlowEnv(c *sandbox.Cluster, stage string, now func() time.Time, local LocalClusters) Env {
	s1 := c.Nodes[0]
	return Env{DataDir: s1.DataDir, Product: product.K3s, Now: now, StageRoot: stage, ClusterName: "sandbox", RestartTimeout: 5 * time.Second,
		Services: &sandbox.Services{DataDir: s1.DataDir, Product: product.K3s, Now: now}, Local: local}.WithDefaults()
}

// leafRolloutChild is TestRolloutHelperProcess in lrEnvMode: rotate-certs
// on s1 of the sandbox cluster at inv, headless, confirmed; "rollout" runs
// its rollout step alone without --rotated-since, as an operator reruns
// it after a crash that printed nothing.
func leafRolloutChild(t *testing.T, inv string, hit func(string)) {
	c, err := sandbox.OpenCluster(inv)
	if err != nil || c == nil {
		t.Fatalf("sandbox cluster %s: %v", inv, err)
	}
	sec, err := strconv.ParseInt(os.Getenv(lrEnvNow), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Unix(sec, 0).UTC() }
	env := leafFlowEnv(c, t.TempDir(), now, hookedClusters{hit: hit})
	f := buildFlow(t, env, FlowRotateCerts, nil)
	var only []string
	if os.Getenv(lrEnvMode) == "rollout" {
		only = []string{"rollout"}
	}
	if err := f.Select(only, nil); err != nil {
		t.Fatal(err)
	}
	testkit.Ready()
	var out strings.Builder
	rep, err := (&Runner{Out: &out, Yes: true, Words: []string{"sandbox"}}).Run(context.Background(), f)
	if err != nil || !rep.OK {
		t.Fatalf("rotate-certs: %v\n%s", err, out.String())
	}
}

// hourAfter is testkit.Now plus i hours, in unix seconds: each run of
// the kill test has its own clock, so a node rotated twice shows two
// backups.
func hourAfter(i int) string {
	return strconv.FormatInt(testkit.Now.Add(time.Duration(i)*time.Hour).Unix(), 10)
}

// TestLeafRolloutKilledResumesWithoutTheFlag: rotate-certs on s1 of a 3+2
// sandbox cluster, killed mid-rollout (nothing printed, so no resume
// command), then its rollout step run again and again without
// --rotated-since, each run killed at another point (a stop marker
// written, a backup half-copied, a backup whole but not renamed, k3s
// stopped with the certificates removed, k3s started but the marker not
// yet removed, an agent stopped), each an hour after the one before:
// every rerun takes the rotation's start from s1's leaf backup, so the
// last run finishes the job and no node is rotated twice: one leaf
// backup per node, every certificate issued again, every service active,
// no partial copy, no stop marker left.
func TestLeafRolloutKilledResumesWithoutTheFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	c, _ := sandboxCluster(t)
	before := clusterLeaves(t, c)
	s2 := c.Nodes[1]
	partial := func() []string {
		m, _ := filepath.Glob(filepath.Join(product.ServerDir(s2.DataDir), ".tls-*.k3sca-partial"))
		return m
	}
	runs := []struct {
		mode, point string
		// after checks the state the kill left (that the point was the
		// one meant).
		after func(t *testing.T)
	}{
		{"flow", "s2 written", func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(product.ServerDir(s2.DataDir), rollout.LeafStopMarker)); err != nil {
				t.Errorf("s2 has no stop marker: %v", err)
			}
		}},
		{"rollout", "s2 written", func(t *testing.T) {
			if len(partial()) != 1 || serviceState(t, s2) != "inactive" {
				t.Errorf("s2: partial copies %v, service %s; want one half-copied backup, k3s stopped", partial(), serviceState(t, s2))
			}
		}},
		{"rollout", "s2 rename", nil},
		{"rollout", "s2 start", func(t *testing.T) {
			if len(partial()) != 0 || len(leafBackups(t, s2)) != 1 {
				t.Errorf("s2: partial copies %v, backups %v; want the backup whole and renamed", partial(), leafBackups(t, s2))
			}
		}},
		{"rollout", "s2 started", nil},
		{"rollout", "a1 stop", nil},
		{"rollout", "a1 remove client-kubelet.crt", nil},
	}
	for i, run := range runs {
		killed, passed := rkRunChild(t, c, "", run.point, -1, lrEnvMode+"="+run.mode, lrEnvNow+"="+hourAfter(i))
		if !killed {
			t.Fatalf("run %d finished without passing %q: %v", i, run.point, passed)
		}
		if run.after != nil {
			run.after(t)
		}
	}
	// The last rerun, in this process, without --rotated-since.
	now := func() time.Time { return testkit.Now.Add(time.Duration(len(runs)) * time.Hour) }
	env := leafFlowEnv(c, t.TempDir(), now, sandbox.Clusters{})
	rep, out, err := runFlowOnly(t, env, FlowRotateCerts, nil, Runner{Yes: true, Words: []string{"sandbox"}}, "rollout")
	if err != nil || !rep.OK {
		t.Fatalf("the last rerun: %v\n%s", err, out)
	}
	rr := rep.Steps[len(rep.Steps)-1].Outcome.Data.(*rollout.Report)
	if rr.Summary() != "5 nodes: 5 done" || rr.LeafSince == nil || !rr.LeafSince.Equal(testkit.Now) ||
		!strings.HasPrefix(rr.LeafSinceSource, "this node's newest leaf backup, "+filepath.Join(product.ServerDir(c.Nodes[0].DataDir), pki.LeafBackupName(testkit.Now))) {
		t.Errorf("the last rerun: %s, since %v from %q", rr.Summary(), rr.LeafSince, rr.LeafSinceSource)
	}
	if !strings.Contains(out, "rotation's start") || !strings.Contains(out, "this node's newest leaf backup") {
		t.Errorf("the plan does not say where the rotation's start came from:\n%s", out)
	}
	after := clusterLeaves(t, c)
	for _, n := range c.Nodes {
		renewedAll(t, n.Name, before[n.Name], after[n.Name])
		if b := leafBackups(t, n); len(b) != 1 {
			t.Errorf("%s: leaf backups %v, want one: rotated once", n.Name, b)
		}
		if s := serviceState(t, n); s != "active" {
			t.Errorf("%s: service %s, want active", n.Name, s)
		}
		_ = filepath.WalkDir(n.Root, func(p string, _ os.DirEntry, _ error) error {
			if b := filepath.Base(p); strings.HasSuffix(b, ".k3sca-partial") || b == rollout.LeafStopMarker {
				t.Errorf("%s: left behind: %s", n.Name, p)
			}
			return nil
		})
	}
	dry, dout, err := runFlowOnly(t, env, FlowRotateCerts, nil, Runner{DryRun: true}, "rollout")
	if err != nil || dry.Steps[len(dry.Steps)-1].Outcome.Data.(*rollout.Report).Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run after: %v\n%s", err, dout)
	}
}

// serviceState is a sandbox node's recorded service state.
func serviceState(t *testing.T, n sandbox.Node) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.DataDir, ".k3sca-service"))
	if os.IsNotExist(err) {
		return "inactive"
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// setServiceState records a sandbox node's service state, as someone
// stopping it (or systemd marking it failed) leaves it.
func setServiceState(t *testing.T, n sandbox.Node, state string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(n.DataDir, ".k3sca-service"), []byte(state+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLeafRolloutOnlyRefusesWithoutABackup: the rollout step alone,
// without --rotated-since, on a node that has no leaf backup has no
// rotation to carry: refused before any node is asked, the error naming
// the flag and the time to give for a rotation from now.
func TestLeafRolloutOnlyRefusesWithoutABackup(t *testing.T) {
	c, env := sandboxCluster(t)
	before := clusterLeaves(t, c)
	_, out, err := runFlowOnly(t, env, FlowRotateCerts, nil, Runner{Yes: true, Words: []string{"sandbox"}}, "rollout")
	if err == nil || !strings.Contains(err.Error(), "--rotated-since") || !strings.Contains(err.Error(), testkit.Now.UTC().Format(time.RFC3339)) ||
		!strings.Contains(err.Error(), "this node has no leaf backup") {
		t.Fatalf("want the refusal naming --rotated-since: %v\n%s", err, out)
	}
	if !leavesEqual(clusterLeaves(t, c), before) {
		t.Error("a node was rotated")
	}
}

// TestLeafRolloutLeavesAStoppedNodeStopped: rotate-certs on s1 of a
// sandbox cluster where someone stopped s3 and a1, and a2 failed: s3 and
// a1 get their leaf certificates backed up and removed (s3 its trigger)
// but are not started, reported stopped with the command that starts
// them, a warning each; a2, failed, is stopped, rotated and started, as
// any running node. Once their operator starts them, k3s has issued
// every certificate again, and the rollout step alone (its start from
// s1's backup) finds all 5 done, each rotated once.
func TestLeafRolloutLeavesAStoppedNodeStopped(t *testing.T) {
	c, env := sandboxCluster(t)
	s3, a1, a2 := c.Nodes[2], c.Nodes[3], c.Nodes[4]
	setServiceState(t, s3, "inactive")
	setServiceState(t, a1, "inactive")
	setServiceState(t, a2, "failed")
	before := clusterLeaves(t, c)
	dry, dout, err := runFlow(t, env, FlowRotateCerts, nil, Runner{DryRun: true})
	if err != nil || !dry.OK {
		t.Fatalf("dry run: %v\n%s", err, dout)
	}
	for _, want := range []string{"s3  (server: left stopped (back up, remove left): its service was inactive before the rollout",
		"a1  (agent: left stopped (back up, remove left): its service was inactive before the rollout"} {
		if !strings.Contains(dout, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, dout)
		}
	}
	rep, out, err := runFlow(t, env, FlowRotateCerts, nil, Runner{Yes: true, Words: []string{"sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-certs: %v\n%s", err, out)
	}
	last := rep.Steps[len(rep.Steps)-1]
	rr := last.Outcome.Data.(*rollout.Report)
	if got := rr.Summary(); got != "5 nodes: 3 done, 2 stopped" {
		t.Errorf("summary %q\n%s", got, out)
	}
	for _, i := range []int{2, 3} {
		n, node := rr.Nodes[i], c.Nodes[i]
		if n.State != rollout.StateStopped || n.Restarted || len(n.Verified) > 0 || n.Leaf == nil || n.Leaf.Stopped ||
			n.Leaf.Left != "back up, remove" || n.Leaf.Service != "inactive" || !n.Changed {
			t.Errorf("%s: %+v %+v, want stopped, rotated, not started", n.Name, n, n.Leaf)
		}
		if s := serviceState(t, node); s != "inactive" {
			t.Errorf("%s was started: %s", n.Name, s)
		}
		if b := leafBackups(t, node); len(b) != 1 {
			t.Errorf("%s: backups %v, want one", n.Name, b)
		}
		if got := leafCertsOnDisk(t, node); len(got) != 0 {
			t.Errorf("%s: leaf certificates left: %v", n.Name, got)
		}
		start := "(start k3s)" // a sandbox's service does not say its command
		if i == 3 {
			start = "(start k3s-agent)"
		}
		if !strings.Contains(n.Stopped, start) {
			t.Errorf("%s: %q does not name %s", n.Name, n.Stopped, start)
		}
		if !slices.ContainsFunc(last.Outcome.Warnings, func(w string) bool { return strings.HasPrefix(w, n.Name+": its service was inactive") }) {
			t.Errorf("no warning about %s: %v", n.Name, last.Outcome.Warnings)
		}
	}
	if _, err := os.Stat(pki.RegenerateTriggerPath(product.ServerDir(s3.DataDir))); err != nil {
		t.Errorf("s3 has no regenerate trigger for its next start: %v", err)
	}
	if n := rr.Nodes[4]; n.State != rollout.StateDone || !n.Restarted || !n.Leaf.Stopped || n.ServiceState != rollout.ServiceFailed || serviceState(t, a2) != "active" {
		t.Errorf("a2, failed: %+v %+v, want stopped, rotated, started as today", n, n.Leaf)
	}
	// The rollout again, dry: nothing left but the operator's starts.
	env2 := env
	again, aout, err := runFlowOnly(t, env2, FlowRotateCerts, nil, Runner{DryRun: true}, "rollout")
	if err != nil || !again.OK || strings.Contains(aout, "rotate them with") {
		t.Errorf("dry run with s3 and a1 still stopped: %v\n%s", err, aout)
	}
	// Their operator starts them; k3s issues their certificates.
	members, closeAll := sandboxMembers(t, c, env.Now)
	defer closeAll()
	for _, i := range []int{2, 3} {
		if err := members[i].Service.Restart(context.Background()); err != nil {
			t.Fatalf("start %s: %v", members[i].Node.Name, err)
		}
	}
	final, fout, err := runFlowOnly(t, env, FlowRotateCerts, nil, Runner{DryRun: true}, "rollout")
	if err != nil || final.Steps[len(final.Steps)-1].Outcome.Data.(*rollout.Report).Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run once they are started: %v\n%s", err, fout)
	}
	after := clusterLeaves(t, c)
	for _, n := range c.Nodes {
		renewedAll(t, n.Name, before[n.Name], after[n.Name])
	}
}

// leafCertsOnDisk are the leaf certificate files of a node (leafCerts
// without the listener's cache).
func leafCertsOnDisk(t *testing.T, n sandbox.Node) map[string]string {
	t.Helper()
	n.Role = "agent" // the files only
	out := map[string]string{}
	for p, s := range leafCerts(t, n) {
		if !strings.Contains(p, "tls-") {
			out[p] = s
		}
	}
	return out
}

// startFirstServer starts s1: a new sandbox cluster's first server is
// stopped (so its SQLite file can be written), and a leaf rollout leaves
// a node someone stopped stopped; a running cluster's is started.
func startFirstServer(t *testing.T, members []rollout.Member) {
	t.Helper()
	if err := members[0].Service.Restart(context.Background()); err != nil {
		t.Fatalf("start %s: %v", members[0].Node.Name, err)
	}
}

// TestLeafRolloutOnOpenRCOverSSH: the leaf rotation of an OpenRC agent
// (a2, over a real sshd, its service run by rc-service): stopped with
// `rc-service k3s-agent stop`, backed up, its certificates removed,
// started with `rc-service k3s-agent restart` (which issues them again),
// done. Then, a2 stopped by someone, a rotation an hour later on a2 backs
// it up and removes its certificates but does not start it: reported
// stopped, with `rc-service k3s-agent start` to start it, no stop or
// start run.
func TestLeafRolloutOnOpenRCOverSSH(t *testing.T) {
	c, _ := sandboxCluster(t)
	a2 := c.Nodes[4]
	bin := openRCAgent(t, a2, pki.ServerCAPath(product.ServerDir(c.Nodes[0].DataDir)))
	ssh := startSSHClient(t, "PATH="+bin+":/usr/local/bin:/usr/bin:/bin")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	startFirstServer(t, members)
	asOpenRCAgent(ctx, t, &members[4], ssh.dial(ctx, t, a2), now)
	before := leafCerts(t, a2)
	opts := leafOptions(t, c, testkit.Now)
	rep, err := rollout.Run(ctx, product.K3s, members, opts)
	if err != nil || !rep.OK || rep.Summary() != "5 nodes: 5 done" {
		t.Fatalf("leaf rollout: %v\n%+v", err, rep)
	}
	if l := rep.Nodes[4].Leaf; l == nil || !l.Stopped || !rep.Nodes[4].Restarted || l.Service != "active" {
		t.Errorf("a2: %+v %+v, want stopped, rotated, started", rep.Nodes[4], l)
	}
	want := []string{"rc-service k3s-agent status", "rc-service k3s-agent stop", "rc-service k3s-agent restart"}
	if got := orcCommands(t, a2); len(got) < len(want) || !slices.Equal(got[:len(want)], want) || slices.Contains(got[len(want):], "rc-service k3s-agent stop") {
		t.Errorf("a2 ran %q over SSH, want %q first, then status checks only", got, want)
	}
	renewedAll(t, "a2", before, leafCerts(t, a2))
	if b := leafBackups(t, a2); len(b) != 1 {
		t.Errorf("a2: backups %v, want one", b)
	}
	if _, err := os.Stat(filepath.Join(pki.AgentDir(a2.DataDir), rollout.LeafStopMarker)); !os.IsNotExist(err) {
		t.Errorf("a2's stop marker is left: %v", err)
	}

	// Someone stops a2; a rotation an hour later on a2 only.
	if err := os.WriteFile(filepath.Join(a2.Root, "run", "k3s-agent.state"), []byte("stopped\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(a2.Root, "run", "commands")); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return testkit.Now.Add(time.Hour) }
	opts = leafOptions(t, c, later())
	opts.Now, opts.Leaf.Nodes = later, []string{"a2"}
	rep, err = rollout.Run(ctx, product.K3s, members, opts)
	if err != nil || !rep.OK || rep.Summary() != "5 nodes: 1 stopped, 4 not needed" {
		t.Fatalf("leaf rollout on a2, stopped: %v\n%+v", err, rep)
	}
	a := rep.Nodes[4]
	if a.State != rollout.StateStopped || a.Restarted || a.Leaf.Stopped || a.Leaf.Left != "back up, remove" || a.ServiceState != rollout.ServiceInactive ||
		!strings.Contains(a.Stopped, "(`rc-service k3s-agent start`)") {
		t.Errorf("a2, stopped: %+v %+v", a, a.Leaf)
	}
	for _, cmd := range orcCommands(t, a2) {
		if cmd != "rc-service k3s-agent status" {
			t.Errorf("a2, stopped, ran %q", cmd)
		}
	}
	if b := leafBackups(t, a2); len(b) != 2 {
		t.Errorf("a2: backups %v, want the second rotation's too", b)
	}
	if got := leafCertsOnDisk(t, a2); len(got) != 0 {
		t.Errorf("a2: certificates left for its next start to issue: %v", got)
	}
}
