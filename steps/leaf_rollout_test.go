package steps

import (
	"context"
	"crypto/x509"
	"encoding/json"
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
type leafOrder struct{ stopped, started []string }

func (o *leafOrder) progress(nr rollout.NodeReport) {
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
	last := rep.Steps[len(rep.Steps)-1]
	rr, ok := last.Outcome.Data.(*rollout.Report)
	if last.ID != "rollout" || !ok || !rr.OK || rr.Summary() != "5 nodes: 5 done" {
		t.Fatalf("last step %s: %+v\n%s", last.ID, last.Outcome, out)
	}
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

// leafResume is the resume command a leaf rollout printed in out.
func leafResume(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "k3sca run rotate-certs"); i >= 0 {
			return l[i:]
		}
	}
	return ""
}

func leavesEqual(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !mapsEqual(v, b[k]) {
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
