package steps

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// clusterEnv is the env of a flow on s1 of c.
func clusterEnv(c *sandbox.Cluster, root string) Env {
	now := testkit.Clock
	s1 := c.Nodes[0]
	return Env{DataDir: s1.DataDir, Product: product.K3s, Now: now, StageRoot: root, ClusterName: "sandbox", RestartTimeout: 5 * time.Second,
		Services: &sandbox.Services{DataDir: s1.DataDir, Product: product.K3s, Now: now}, Local: sandbox.Clusters{}}.WithDefaults()
}

// setNodeVersions makes the simulated binaries of c's nodes report the
// versions given by node name.
func setNodeVersions(t *testing.T, c *sandbox.Cluster, versions map[string]string) {
	t.Helper()
	for _, n := range c.Nodes {
		if v, ok := versions[n.Name]; ok {
			if err := sandbox.SetVersion(n.DataDir, product.K3s, v, testkit.Now); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRolloutRefusedForANodesVersion: one server of the cluster reports
// a k3s that predates CA rotation. The rollout (a dry run and a real
// one) is refused with that node, its version and the reason, before
// any node is touched: no file of any node changes.
func TestRolloutRefusedForANodesVersion(t *testing.T) {
	c, _ := rotatedCluster(t)
	root := filepath.Dir(c.Inventory)
	env := clusterEnv(c, root)
	setNodeVersions(t, c, map[string]string{"s2": "v1.25.6+k3s1"})
	before := testkit.Fingerprint(t, filepath.Join(root, "nodes"))
	for _, r := range []Runner{{DryRun: true}, {Yes: true, Words: []string{"sandbox"}}} {
		rep, out, err := runFlow(t, env, FlowRollout, nil, r)
		if !errors.Is(err, ErrVersionRefused) {
			t.Fatalf("dry %v: err %v, want ErrVersionRefused\n%s", r.DryRun, err, out)
		}
		for _, want := range []string{"node s2 (server, k3s v1.25.6+k3s1)", "predates CA rotation", "v1.25.7+k3s1", "Nothing was changed on any node"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("dry %v: refusal %q does not say %q", r.DryRun, err, want)
			}
		}
		if rep.OK || rep.Steps[0].Status != StatusFailed {
			t.Errorf("dry %v: ok %v, step %s", r.DryRun, rep.OK, rep.Steps[0].Status)
		}
		if got := testkit.Fingerprint(t, filepath.Join(root, "nodes")); got != before {
			t.Fatalf("dry %v: a node changed:\n%s", r.DryRun, stLineDiff(got, before))
		}
	}
}

// TestRotateCARefusedForANodesVersion: rotate-ca on s1 of a cluster whose
// rollout is its last step reads every node's version before step 1: a
// server on a refused version stops the flow before the load, so neither
// the datastore nor any node changes. A warning version goes on, said
// per node before the plan and in the JSON.
func TestRotateCARefusedForANodesVersion(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		c, env := sandboxCluster(t)
		root := filepath.Dir(c.Inventory)
		setNodeVersions(t, c, map[string]string{"s3": "v1.24.10+k3s1"})
		before := testkit.Fingerprint(t, root)
		rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(root, "stage")}, Runner{Yes: true, Words: []string{"load", "sandbox"}})
		if !errors.Is(err, ErrVersionRefused) || !strings.Contains(err.Error(), "node s3 (server, k3s v1.24.10+k3s1)") {
			t.Fatalf("err %v, want the refusal for s3\n%s", err, out)
		}
		for _, st := range rep.Steps {
			if st.Status != StatusPending {
				t.Errorf("step %d %s: %s, want pending", st.N, st.ID, st.Status)
			}
		}
		if strings.Contains(out, "step 1/") {
			t.Errorf("a step was shown:\n%s", out)
		}
		if got := testkit.Fingerprint(t, root); got != before {
			t.Fatalf("the cluster changed:\n%s", stLineDiff(got, before))
		}
	})
	t.Run("warned", func(t *testing.T) {
		c, env := sandboxCluster(t)
		root := filepath.Dir(c.Inventory)
		// s3 a server of k3s#11014's releases: a warning; a1 an agent of
		// a k3s that predates CA rotation: agents are not refused.
		setNodeVersions(t, c, map[string]string{"s3": "v1.30.5+k3s1", "a1": "v1.25.6+k3s1"})
		rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(root, "stage")}, Runner{DryRun: true})
		if err != nil || !rep.OK {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		for _, want := range []string{"nodes: s1 v1.36.3+k3s1, s2 v1.36.3+k3s1, s3 v1.30.5+k3s1, a1 v1.25.6+k3s1, a2 v1.36.3+k3s1",
			"warning: s3 (server): this server runs k3s v1.30.5+k3s1, whose rotate-ca handler"} {
			if !strings.Contains(out, want) || strings.Index(out, want) > strings.Index(out, "step 1/") {
				t.Errorf("not said before the plan: %q\n%s", want, out)
			}
		}
		b, _ := json.Marshal(rep)
		var doc struct {
			NodeVersions []struct {
				Name, Version string
				Findings      []struct{ ID, Action string }
			} `json:"nodeVersions"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || len(doc.NodeVersions) != 5 {
			t.Fatalf("nodeVersions %+v (%v) in %s", doc.NodeVersions, err, b)
		}
		if s3 := doc.NodeVersions[2]; s3.Name != "s3" || s3.Version != "v1.30.5+k3s1" || len(s3.Findings) == 0 ||
			s3.Findings[0].ID != "rollout-restart-creds-newer" || s3.Findings[0].Action != "warn" {
			t.Errorf("s3 in the JSON: %+v", s3)
		}
	})
}

// TestRolloutShowsEachNodesVersion: the rollout's plan names every
// node's k3s version and its warnings; each node of its JSON has a
// version field; a warning does not stop it.
func TestRolloutShowsEachNodesVersion(t *testing.T) {
	c, _ := rotatedCluster(t)
	root := filepath.Dir(c.Inventory)
	env := clusterEnv(c, root)
	setNodeVersions(t, c, map[string]string{"s2": "v1.31.1+k3s1"})
	dry, out, err := runFlow(t, env, FlowRollout, nil, Runner{DryRun: true})
	if err != nil || !dry.OK {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	for _, want := range []string{"check k3s versions (s1, s3, a1, a2: v1.36.3+k3s1; s2: v1.31.1+k3s1)",
		"s2: warn: this server runs k3s v1.31.1+k3s1, whose rotate-ca handler stores entries older than the cred files on disk"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
	rep, out, err := runFlow(t, env, FlowRollout, nil, Runner{Yes: true, Words: []string{"sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rollout: %v\n%s", err, out)
	}
	rr := rep.Steps[0].Outcome.Data.(*rollout.Report)
	b, _ := json.Marshal(rr)
	var doc struct {
		Nodes []struct {
			Name, State string
			Version     *struct {
				Version, Source string
				Findings        []struct{ ID string }
			}
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, n := range doc.Nodes {
		if n.State != "done" || n.Version == nil || !strings.HasPrefix(n.Version.Version, "v1.") || !strings.Contains(n.Version.Source, "--version") {
			t.Errorf("node %+v in %s", n, b)
		}
	}
	if s2 := doc.Nodes[1]; s2.Version.Version != "v1.31.1+k3s1" || len(s2.Version.Findings) == 0 || s2.Version.Findings[0].ID != "rollout-restart-creds-newer" {
		t.Errorf("s2: %+v", s2.Version)
	}
}
