package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

// TestPrintedLeafRolloutCommandsRun: `run rotate-certs` on s1 of a 3+2
// sandbox cluster rotates s1, then the other nodes until s3 cannot start
// (a file newer than the datastore, as k3s refuses): the report says s3's
// service failed (as systemd marks a unit whose start failed) and a1, a2 untouched, and prints the resume; a dry
// run of what is left prints the same command; once s3 is fixed the
// printed resume, run as printed, finishes with all 5 done, and a dry run
// of it then has nothing to do; the rollout step alone without
// --rotated-since (the rerun after a crash that printed nothing) takes the
// start from s1's newest leaf backup, and its -o json says so
// (leafSince, leafSinceSource).
func TestPrintedLeafRolloutCommandsRun(t *testing.T) {
	_, dd, c := cliCluster(t)
	// s3 cannot start: its client CA differs from the datastore's and is
	// newer, which a k3s server refuses.
	newer := filepath.Join(product.ServerDir(c.Nodes[2].DataDir), "tls", "client-ca.crt")
	good, err := os.ReadFile(newer)
	if err != nil {
		t.Fatal(err)
	}
	setCA := func(b []byte, at time.Time) {
		if err := os.WriteFile(newer, b, 0o644); err != nil {
			t.Fatal(err)
		}
		testkit.SetMtime(t, newer, at)
	}
	setCA(append(append([]byte(nil), good...), '\n'), testkit.Now.Add(time.Hour))
	r := runAt(t, "run", "rotate-certs", "-d", dd, "--yes", "--confirm", "sandbox")
	out := r.stdout + r.stderr
	if r.code != exitFailure || !strings.Contains(out, "node s3") || !strings.Contains(out, "newer than datastore") {
		t.Fatalf("the leaf rollout must stop at s3: exit %d\n%s", r.code, out)
	}
	for _, want := range []string{"s2 (server): done", "s3 (server): failed; its service failed", "a1 (agent): untouched", "a2 (agent): untouched"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report does not say %q:\n%s", want, out)
		}
	}
	resume := lineAfter(t, out, "resume (it does only what is left): ")
	if !strings.Contains(resume, " --rotated-since "+testkit.Now.UTC().Format(time.RFC3339)+" --only rollout ") {
		t.Errorf("resume %q", resume)
	}
	setCA(good, testkit.Now.Add(-2*time.Hour)) // the operator fixes s3
	dry := strings.Replace(resume, " --yes --confirm sandbox", " --dry-run", 1)
	r = runAt(t, strings.Fields(dry)[1:]...)
	if r.code != exitOK {
		t.Fatalf("%s: exit %d\n%s", dry, r.code, r.stdout+r.stderr)
	}
	if rotate := lineAfter(t, r.stdout+r.stderr, "rotate them with: "); rotate != resume {
		t.Errorf("the dry run prints %q, the failure %q", rotate, resume)
	}
	if r := runPrinted(t, resume); r.code != exitOK || !strings.Contains(r.stdout+r.stderr, "5 nodes: 5 done") {
		t.Fatalf("%s: exit %d\n%s\n%s", resume, r.code, r.stdout, r.stderr)
	}
	r = runAt(t, strings.Fields(dry)[1:]...)
	if r.code != exitOK || !strings.Contains(r.stdout, "5 nodes: 5 done") || strings.Contains(r.stdout, "rotate them with") {
		t.Errorf("a dry run after the resume: exit %d\n%s", r.code, r.stdout+r.stderr)
	}
	// Without --rotated-since the rollout's start comes from s1's newest
	// leaf backup (named by the run's clock), and the JSON says so.
	r = runAt(t, "run", "rotate-certs", "-d", dd, "--only", "rollout", "--dry-run", "-o", "json")
	var rep struct {
		Steps []struct {
			ID      string `json:"id"`
			Outcome struct {
				Summary string `json:"summary"`
				Data    struct {
					LeafSince       time.Time `json:"leafSince"`
					LeafSinceSource string    `json:"leafSinceSource"`
				} `json:"data"`
			} `json:"outcome"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitOK || len(rep.Steps) == 0 {
		t.Fatalf("--only rollout --dry-run -o json: %v, exit %d\n%s\n%s", err, r.code, r.stdout, r.stderr)
	}
	last := rep.Steps[len(rep.Steps)-1].Outcome
	backup := filepath.Join(product.ServerDir(dd), "tls-"+strconv.FormatInt(testkit.Now.Unix(), 10))
	if !last.Data.LeafSince.Equal(testkit.Now) || last.Data.LeafSinceSource != "this node's newest leaf backup, "+backup || last.Summary != "5 nodes: 5 done" {
		t.Errorf("rollout step without --rotated-since: %q since %v from %q; want since %v from s1's backup %s", last.Summary, last.Data.LeafSince, last.Data.LeafSinceSource, testkit.Now, backup)
	}
}
