package steps

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// TestRotateServiceKeyOnASandboxClusterRestartsServersOnly: with the
// cluster known, rotate-service-key ends with the rollout to the servers
// only: s2 then s3 restart after the load (s1 restarted in the flow),
// each verified as the rollout verifies servers and each ending with the
// new service.key; no token is edited and no regenerate trigger written
// (the CA does not change); the agents are left alone (files and service)
// and the plan and JSON say they need nothing. A dry run afterwards, and
// `run rollout`, find every server done.
func TestRotateServiceKeyOnASandboxClusterRestartsServersOnly(t *testing.T) {
	c, env := sandboxCluster(t)
	keyField, _ := pki.Field("ServiceKey")
	keyOf := func(n sandbox.Node) []byte {
		b, err := os.ReadFile(keyField.Abs(filepath.Join(n.DataDir, "server")))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	oldKey := keyOf(c.Nodes[0])
	agents := map[string]map[string]string{}
	for _, n := range c.Nodes[3:] {
		agents[n.Name] = testkit.TreeState(t, n.Root)
	}
	rep, out, err := runFlow(t, env, FlowRotateServiceKey, map[string]string{"path": filepath.Join(env.StageRoot, "stage")}, Runner{Yes: true, Words: []string{"load", "sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-service-key with the rollout: %v\n%s", err, out)
	}
	rr := lastRollout(t, rep, "5 nodes: 3 done, 2 not needed", out)
	if !rr.ServersOnly {
		t.Fatalf("the rollout is not to the servers only: %+v\n%s", rr, out)
	}
	newKey := keyOf(c.Nodes[0])
	if bytes.Equal(newKey, oldKey) {
		t.Fatal("s1's service.key did not change")
	}
	// Servers in order, one at a time (the progress lines say which is
	// restarting); s1 restarted in the flow, not again.
	var order []string
	for _, m := range regexp.MustCompile(`(?m)… (s\d|a\d): restart$`).FindAllStringSubmatch(out, -1) {
		if !slices.Contains(order, m[1]) {
			order = append(order, m[1])
		}
	}
	if want := []string{"s2", "s3"}; !slices.Equal(order, want) {
		t.Errorf("restarts %v, want %v\n%s", order, want, out)
	}
	for i, n := range rr.Nodes {
		switch {
		case i == 0 && (n.Restarted || n.Changed || n.State != rollout.StateDone):
			t.Errorf("s1 (restarted in the flow): %+v", n)
		case i > 0 && i < 3 && (!n.Restarted || n.State != rollout.StateDone || len(n.Verified) == 0):
			t.Errorf("%s: %+v, want restarted and verified", n.Name, n)
		case i >= 3 && (n.State != rollout.StateNotNeeded || n.Restarted || n.Changed || !strings.HasPrefix(n.Needs, "nothing: a service-account key")):
			t.Errorf("%s: %+v, want not needed", n.Name, n)
		}
		if len(n.Edits) > 0 || n.Regenerate != "" {
			t.Errorf("%s: edits %v, trigger %q: a service-account key changes no token and no serving certificate", n.Name, n.Edits, n.Regenerate)
		}
	}
	for _, n := range c.Nodes[:3] {
		if !bytes.Equal(keyOf(n), newKey) {
			t.Errorf("%s does not hold the new service.key", n.Name)
		}
		if len(backups(t, n)) != 0 {
			t.Errorf("%s: backups %v: no token file may be edited", n.Name, backups(t, n))
		}
	}
	for _, n := range c.Nodes[3:] {
		if after := testkit.TreeState(t, n.Root); !maps.Equal(after, agents[n.Name]) {
			t.Errorf("agent %s was touched", n.Name)
		}
	}
	if !strings.Contains(out, "a1 (agent): not needed; needs nothing: a service-account key change restarts servers only") {
		t.Errorf("the report does not say the agents need nothing:\n%s", out)
	}

	// From what the nodes say, nothing is left: `run rollout --dry-run`.
	dry, dout, err := runFlow(t, env, FlowRollout, nil, Runner{DryRun: true})
	if err != nil || !dry.OK || strings.Contains(dout, "restart (") {
		t.Fatalf("rollout dry run after: %v\n%s", err, dout)
	}
	if dr, ok := dry.Steps[0].Outcome.Data.(*rollout.Report); !ok || dr.Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run: %+v", dry.Steps[0].Outcome)
	}
}
