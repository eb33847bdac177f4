package steps

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// leafCerts are the serials of a sandbox node's leaf certificates, by
// path relative to its data dir: the server's under server/tls (not the
// CAs), the agent's under agent (not its CA copies), and, on a server, the
// listener's from its cache (dynamic-cert.json).
func leafCerts(t *testing.T, n sandbox.Node) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{filepath.Join("server", "tls"), "agent"} {
		_ = filepath.WalkDir(filepath.Join(n.DataDir, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".crt") || strings.Contains(filepath.Base(p), "ca.") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			certs, err := pki.ParseCertsPEM(b)
			if err != nil || len(certs) == 0 || certs[0].IsCA {
				return nil
			}
			rel, _ := filepath.Rel(n.DataDir, p)
			out[rel] = certs[0].SerialNumber.String()
			return nil
		})
	}
	if n.Role == cluster.RoleServer {
		out["listener"] = servingSerial(t, n)
	}
	return out
}

// servingSerial is the serial of the listener's cached certificate.
func servingSerial(t *testing.T, n sandbox.Node) string {
	t.Helper()
	c := cachedServing(t, filepath.Join(product.ServerDir(n.DataDir), filepath.FromSlash(pki.DynamicCertCache)))
	return c.SerialNumber.String()
}

func cachedServing(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(s.Data["tls.crt"])
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// clusterLeaves are leafCerts of every node, by node name.
func clusterLeaves(t *testing.T, c *sandbox.Cluster) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, n := range c.Nodes {
		out[n.Name] = leafCerts(t, n)
	}
	return out
}

// leafBackups are the leaf backup dirs (tls-<unix>) of a node.
func leafBackups(t *testing.T, n sandbox.Node) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{product.ServerDir(n.DataDir), pki.AgentDir(n.DataDir)} {
		m, _ := filepath.Glob(filepath.Join(dir, "tls-*"))
		out = append(out, m...)
	}
	return out
}

// renewedAll says every leaf certificate of a node has another serial
// than before (and none was lost).
func renewedAll(t *testing.T, name string, before, after map[string]string) {
	t.Helper()
	if len(before) < 2 {
		t.Fatalf("%s: only %d leaf certificates before: %v", name, len(before), before)
	}
	for p, s := range before {
		switch a, ok := after[p]; {
		case !ok:
			t.Errorf("%s: %s is gone", name, p)
		case a == s:
			t.Errorf("%s: %s was not issued again (serial %s)", name, p, s)
		}
	}
}

// leafOrder records the order nodes are stopped in and the ones started.
type leafOrder struct {
	stopped, started []string
	// steps are "node step +elapsed" lines, for the log.
	steps []string
	last  time.Time
}

func (o *leafOrder) progress(nr rollout.NodeReport) {
	if !o.last.IsZero() {
		o.steps = append(o.steps, fmt.Sprintf("%s %s +%s", nr.Name, nr.Step, time.Since(o.last).Round(time.Millisecond)))
	}
	o.last = time.Now()
	switch nr.Step {
	case "stop":
		o.stopped = append(o.stopped, nr.Name)
	case "start":
		o.started = append(o.started, nr.Name)
	}
}

// TestRotateCertsRollsOutToEveryNode: rotate-certs on s1 of a 3+2 sandbox
// cluster rotates s1, then, confirmed by the cluster's name, every other
// node in k3s's order (s2, s3 one at a time, then a1, a2): each node's
// leaf certificates are issued again (the listener's too on servers),
// each backed up in one tls-<unix> dir; the CA and every token stay; a
// dry run of the printed resume command finds all 5 done.
func TestRotateCertsRollsOutToEveryNode(t *testing.T) {
	c, env := sandboxCluster(t)
	before := clusterLeaves(t, c)
	hashes := map[string][]string{}
	for _, n := range c.Nodes {
		hashes[n.Name] = clustertest.TokenHashes(t, n.Root)
	}
	start := time.Now()
	rep, out, err := runFlow(t, env, FlowRotateCerts, nil, Runner{Yes: true, Words: []string{"sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-certs with the rollout: %v\n%s", err, out)
	}
	t.Logf("rotate-certs on s1 and the 3+2 leaf rollout in the sandbox took %s", time.Since(start).Round(time.Millisecond))
	rr := lastRollout(t, rep, "5 nodes: 5 done", out)
	after := clusterLeaves(t, c)
	for _, n := range c.Nodes {
		renewedAll(t, n.Name, before[n.Name], after[n.Name])
		if b := leafBackups(t, n); len(b) != 1 {
			t.Errorf("%s: leaf backups %v, want one", n.Name, b)
		}
		if h := clustertest.TokenHashes(t, n.Root); !slices.Equal(h, hashes[n.Name]) {
			t.Errorf("%s: token hashes %v, want them unchanged %v", n.Name, h, hashes[n.Name])
		}
	}
	for i, nr := range rr.Nodes {
		if nr.Leaf == nil || nr.Leaf.Service != "active" {
			t.Errorf("%s: leaf %+v, want its service active", nr.Name, nr.Leaf)
		}
		if i == 0 && (nr.Changed || nr.Leaf.Left != "nothing") {
			t.Errorf("s1, rotated by the flow's own steps, was touched by the rollout: %+v", nr)
		}
		if i > 0 && (!nr.Restarted || !nr.Leaf.Stopped || nr.Leaf.Left != "stop, back up, remove, start") {
			t.Errorf("%s: %+v", nr.Name, nr.Leaf)
		}
	}
	// Its resume, as printed after a failure: only the rollout, since the
	// flow's start.
	env.RotatedSince = testkit.Now
	dry, dout, err := runFlowOnly(t, env, FlowRotateCerts, nil, Runner{DryRun: true}, "rollout")
	if err != nil || !dry.OK {
		t.Fatalf("dry run after: %v\n%s", err, dout)
	}
	if d := dry.Steps[len(dry.Steps)-1].Outcome.Data.(*rollout.Report); d.Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run after the rollout: %s\n%s", d.Summary(), dout)
	}
	if again := clusterLeaves(t, c); !leavesEqual(again, after) {
		t.Errorf("the dry run changed certificates")
	}
}

func leavesEqual(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !maps.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// runFlowOnly is runFlow with only the given steps.
func runFlowOnly(t *testing.T, env Env, id string, vals map[string]string, r Runner, only ...string) (Report, string, error) {
	t.Helper()
	env.DryRun = r.DryRun
	f := buildFlow(t, env, id, vals)
	if err := f.Select(only, nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r.Out = &out
	rep, err := r.Run(context.Background(), f)
	return rep, out.String(), err
}

// failingRemove is a node whose removals fail: a leaf rotation on it
// fails after k3s was stopped and the backup made.
type failingRemove struct {
	*remote.Local
}

func (failingRemove) Remove(context.Context, string) error {
	return errors.New("injected: remove refused")
}

// leafOptions are the options of a leaf rollout to the cluster's CA at s1.
func leafOptions(t *testing.T, c *sandbox.Cluster, since time.Time) rollout.Options {
	t.Helper()
	ca, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(c.Nodes[0].DataDir)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := pki.HashCA(ca, testkit.Now)
	if err != nil {
		t.Fatal(err)
	}
	return rollout.Options{NewHash: h.Hex, NewCA: ca, Now: testkit.Clock, Poll: 10 * time.Millisecond,
		Timeout: 5 * time.Second, Leaf: &rollout.Leaf{Since: since}}
}

// TestLeafRolloutStopsAtTheThirdNodeAndResumes: the removal fails on s3
// (after its stop and backup): s3 is started again and reported failed,
// with its service active; a1 and a2 are untouched; a rerun with the same
// start does only what is left (s3: remove, start, no second backup) and
// leaves s1, s2 alone; a dry run then says 5 done.
func TestLeafRolloutStopsAtTheThirdNodeAndResumes(t *testing.T) {
	c, _ := sandboxCluster(t)
	members, closeAll := sandboxMembers(t, c, testkit.Clock)
	defer closeAll()
	startFirstServer(t, members)
	before := clusterLeaves(t, c)
	good := members[2].Host
	members[2].Host = failingRemove{good.(*remote.Local)}
	opts := leafOptions(t, c, testkit.Now)
	var order leafOrder
	opts.Progress = order.progress
	rep, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err == nil || !strings.Contains(err.Error(), "node s3") || !strings.Contains(err.Error(), "injected") ||
		!strings.Contains(err.Error(), "the service was started again") {
		t.Fatalf("the rollout must stop at s3, started again: %v", err)
	}
	if want := []string{"s1", "s2", "s3"}; !slices.Equal(order.stopped, want) {
		t.Errorf("stopped %v, want %v", order.stopped, want)
	}
	states := map[string]rollout.State{}
	for _, nr := range rep.Nodes {
		states[nr.Name] = nr.State
	}
	if states["s1"] != rollout.StateDone || states["s2"] != rollout.StateDone || states["s3"] != rollout.StateFailed ||
		states["a1"] != rollout.StateUntouched || states["a2"] != rollout.StateUntouched {
		t.Fatalf("states %v", states)
	}
	if s3 := rep.Nodes[2]; s3.Leaf == nil || s3.Leaf.Service != "active" || !s3.Leaf.Stopped || s3.Step != "remove" {
		t.Errorf("s3: %+v %+v", s3, s3.Leaf)
	}
	if active, err := members[2].Service.IsActive(context.Background()); err != nil || !active {
		t.Errorf("s3 left down: %v %v", active, err)
	}
	mid := clusterLeaves(t, c)
	for _, n := range c.Nodes[2:] {
		if !maps.Equal(mid[n.Name], before[n.Name]) {
			t.Errorf("%s: certificates changed", n.Name)
		}
	}
	for _, n := range c.Nodes[3:] {
		if b := leafBackups(t, n); len(b) > 0 {
			t.Errorf("%s was touched: %v", n.Name, b)
		}
	}
	// The operator fixes s3; a rerun with the same start finishes.
	members[2].Host = good
	order = leafOrder{}
	rep, err = rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || !rep.OK {
		t.Fatalf("resume: %v %+v", err, rep)
	}
	if want := []string{"s3", "a1", "a2"}; !slices.Equal(order.stopped, want) {
		t.Errorf("the resume stopped %v, want %v", order.stopped, want)
	}
	if l := rep.Nodes[2].Leaf; l.Left != "remove, start" {
		t.Errorf("s3 resumed with %q (%s), want remove, start", l.Left, l.Why)
	}
	after := clusterLeaves(t, c)
	for i, n := range c.Nodes {
		renewedAll(t, n.Name, before[n.Name], after[n.Name])
		if b := leafBackups(t, n); len(b) != 1 {
			t.Errorf("%s: leaf backups %v, want one", n.Name, b)
		}
		if i < 2 && (rep.Nodes[i].Changed || !maps.Equal(after[n.Name], mid[n.Name])) {
			t.Errorf("the resume touched %s again", n.Name)
		}
	}
	opts.DryRun, opts.Progress = true, nil
	dry, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || dry.Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run after the resume: %v %s", err, dry.Summary())
	}
}

// TestLeafRolloutOverSSH carries the leaf rotation over a real OpenSSH
// sshd on 127.0.0.1 (every node's files over SFTP under its node root,
// the sandbox's services): every node rotated, servers then agents.
func TestLeafRolloutOverSSH(t *testing.T) {
	c, _ := sandboxCluster(t)
	ssh := startSSHClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	members, closeAll := sandboxMembers(t, c, testkit.Clock)
	defer closeAll()
	startFirstServer(t, members)
	for i := range members {
		members[i].Host = ssh.dial(ctx, t, c.Nodes[i])
	}
	before := clusterLeaves(t, c)
	opts := leafOptions(t, c, testkit.Now)
	var order leafOrder
	opts.Progress = order.progress
	start := time.Now()
	rep, err := rollout.Run(ctx, product.K3s, members, opts)
	if err != nil || !rep.OK {
		t.Fatalf("leaf rollout over ssh: %v\n%+v", err, rep)
	}
	t.Logf("the 3+2 leaf rollout over sshd took %s; steps: %s", time.Since(start).Round(time.Millisecond), strings.Join(order.steps, ", "))
	if want := []string{"s1", "s2", "s3", "a1", "a2"}; !slices.Equal(order.stopped, want) {
		t.Errorf("stopped %v, want %v", order.stopped, want)
	}
	after := clusterLeaves(t, c)
	for i, n := range c.Nodes {
		renewedAll(t, n.Name, before[n.Name], after[n.Name])
		b := leafBackups(t, n)
		if len(b) != 1 {
			t.Fatalf("%s: leaf backups %v, want one", n.Name, b)
		}
		if l := rep.Nodes[i].Leaf; l == nil || strings.HasPrefix(l.Backup, n.Root) || filepath.Join(n.Root, l.Backup) != b[0] {
			t.Errorf("%s: backup %+v, want the node path of %s", n.Name, l, b[0])
		}
	}
	opts.DryRun, opts.Progress = true, nil
	dry, err := rollout.Run(ctx, product.K3s, members, opts)
	if err != nil || dry.Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run over ssh after: %v %s", err, dry.Summary())
	}
}

// TestRolloutAsksOnlyTheNodesItTouches: a servers-only rollout (the
// service-account key) does not ask the agents for their version, and a
// leaf rotation on named nodes asks only those.
func TestRolloutAsksOnlyTheNodesItTouches(t *testing.T) {
	c, _ := sandboxCluster(t)
	members, closeAll := sandboxMembers(t, c, testkit.Clock)
	defer closeAll()
	var asked []string
	for i := range members {
		name, run := members[i].Node.Name, members[i].Version.Run
		members[i].Version.Run = func(ctx context.Context, argv []string) ([]byte, error) {
			asked = append(asked, name)
			return run(ctx, argv)
		}
	}
	leaf := leafOptions(t, c, testkit.Now)
	tests := []struct {
		name string
		opts rollout.Options
		want []string
	}{
		{"service-account key: servers only", rollout.Options{NewHash: leaf.NewHash, ServersOnly: true, DryRun: true}, []string{"s1", "s2", "s3"}},
		{"leaf rotation on s2 and a1", func() rollout.Options {
			o := leaf
			o.DryRun, o.Leaf = true, &rollout.Leaf{Since: testkit.Now, Nodes: []string{"s2", "a1"}}
			return o
		}(), []string{"s2", "a1"}},
		{"every node", rollout.Options{NewHash: leaf.NewHash, DryRun: true}, []string{"s1", "s2", "s3", "a1", "a2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			rep, err := rollout.Run(context.Background(), product.K3s, members, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(asked, tt.want) {
				t.Errorf("asked %v for their version, want %v", asked, tt.want)
			}
			vs, err := rollout.ReadVersions(context.Background(), product.K3s, members, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vs {
				if (v.NodeVersion != nil) != slices.Contains(tt.want, v.Name) || (rep.Nodes[i].Version != nil) != slices.Contains(tt.want, v.Name) {
					t.Errorf("%s: version %+v read: want read %v", v.Name, v.NodeVersion, slices.Contains(tt.want, v.Name))
				}
			}
		})
	}
}
