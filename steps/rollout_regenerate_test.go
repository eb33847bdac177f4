package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// newRootVals are the values of a forced new-root custom CA rotation.
func newRootVals(t *testing.T, stageRoot string) map[string]string {
	root := customRoot(t)
	return map[string]string{"root": "new", "root-cert": filepath.Join(root, "ca/root-ca.pem"), "root-key": filepath.Join(root, "ca/root-ca.key"),
		"path": filepath.Join(stageRoot, "stage")}
}

// TestNewRootRolloutRegeneratesEachServer: a forced new-root rotation on
// the first server of a 3+2 sandbox cluster, rollout included, comes up on
// every node: the rollout writes server/tls/dynamic-cert-regenerate on
// each other server before its restart, each listener then serves a
// certificate from the new CA (the rollout's check), and the start consumed
// the trigger.
func TestNewRootRolloutRegeneratesEachServer(t *testing.T) {
	c, env := sandboxCluster(t)
	rep, out, err := runFlow(t, env, FlowRotateCustomCA, newRootVals(t, env.StageRoot), Runner{Yes: true, Words: []string{"sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-custom-ca --root new with the rollout: %v\n%s", err, out)
	}
	rr := lastRollout(t, rep, "5 nodes: 5 done", out)
	details := rep.Steps[len(rep.Steps)-1].Outcome.Details
	for i, nr := range rr.Nodes {
		n := c.Nodes[i]
		want := ""
		if n.Name == "s2" || n.Name == "s3" {
			want = "/var/lib/rancher/k3s/server/tls/dynamic-cert-regenerate"
		}
		if nr.Regenerate != want || (want != "" && !nr.Restarted) {
			t.Errorf("%s: regenerate %q restarted %v, want %q", n.Name, nr.Regenerate, nr.Restarted, want)
		}
		if want != "" && !strings.Contains(details[i], "; wrote "+want+"; restarted") {
			t.Errorf("the outcome of %s does not say it got the trigger: %q", n.Name, details[i])
		}
		if _, err := os.Stat(pki.RegenerateTriggerPath(product.ServerDir(n.DataDir))); n.Role == "server" && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the trigger is still there after its start: %v", n.Name, err)
		}
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != rep.Result.NewHash {
				t.Errorf("%s: a token still holds %s", n.Name, h)
			}
		}
	}
}

// TestNewRootWithoutTheTriggerOnS2 is the outage k3s showed, on the second
// server: after a forced new-root rotation on s1, s2 restarted without the
// trigger fails k3s's own /cacerts check with k3s's message (its listener
// keeps the certificate of the old root); a dry run of the rollout plans
// the trigger on s2 and s3; the rollout then writes it and every node
// comes up.
func TestNewRootWithoutTheTriggerOnS2(t *testing.T) {
	c, env := sandboxCluster(t)
	f := buildFlow(t, env, FlowRotateCustomCA, newRootVals(t, env.StageRoot))
	if err := f.Select(nil, []string{"rollout"}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep, err := (&Runner{Out: &out, Yes: true, Words: []string{"sandbox"}}).Run(context.Background(), f)
	if err != nil || rep.Result == nil || rep.Result.NewHash == rep.Result.OldHash {
		t.Fatalf("rotate-custom-ca --root new on s1: %v\n%s", err, out.String())
	}
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	s2 := c.Nodes[1]
	trigger := pki.RegenerateTriggerPath(product.ServerDir(s2.DataDir))
	if _, err := os.Stat(trigger); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("s2 has a trigger before the rollout: %v", err)
	}
	err = members[1].Service.Restart(context.Background())
	if !errors.Is(err, sandbox.ErrCACertValidation) || !strings.Contains(err.Error(), "Failed to validate connection to cluster at https://127.0.0.1:") ||
		!strings.Contains(err.Error(), `/cacerts": tls: failed to verify certificate: x509: certificate signed by unknown authority`) {
		t.Fatalf("s2 restarted without the trigger: %v, want k3s's CA cert validation failure", err)
	}
	ca, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(c.Nodes[0].DataDir)))
	if err != nil {
		t.Fatal(err)
	}
	opts := rollout.Options{NewHash: rep.Result.NewHash, NewCA: ca, Now: now, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second}
	dry := opts
	dry.DryRun = true
	plan, err := rollout.Run(context.Background(), product.K3s, members, dry)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	var text strings.Builder
	if err := rolloutPlan(plan, c.Inventory).Render(&text); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"s2", "s3"} {
		if !strings.Contains(text.String(), "write     "+n+":/var/lib/rancher/k3s/server/tls/dynamic-cert-regenerate") {
			t.Errorf("the rollout plan does not name the trigger on %s:\n%s", n, text.String())
		}
	}
	if _, err := os.Stat(trigger); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dry run wrote the trigger: %v", err)
	}
	rr, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || !rr.OK || rr.Summary() != "5 nodes: 5 done" {
		t.Fatalf("rollout after the failed start: %v\n%+v", err, rr)
	}
	if nr := rr.Nodes[1]; !nr.Restarted || nr.Regenerate == "" {
		t.Errorf("s2: %+v", nr)
	}
}
