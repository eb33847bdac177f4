package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestSandboxCommand builds, reopens and copies sandboxes without the
// wizard, one step feeding the next.
func TestSandboxCommand(t *testing.T) {
	x := filepath.Join(t.TempDir(), "x")
	y := filepath.Join(t.TempDir(), "y")
	xData, yData := filepath.Join(x, "data"), filepath.Join(y, "data")
	var token []byte
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string   // exact; "" checks nothing
		wantStderr []string // substrings
		check      func(t *testing.T)
	}{
		{name: "build in --dir", args: []string{"sandbox", "--no-tui", "--dir", x}, wantStdout: xData + "\n",
			wantStderr: []string{"sandbox data dir: " + xData},
			check: func(t *testing.T) {
				if !node.IsSandbox(xData) {
					t.Error("no sandbox built")
				}
				token = readFile(t, filepath.Join(xData, "server", "token"))
				if state := readFile(t, filepath.Join(xData, ".k3sca-service")); string(state) != "inactive\n" {
					t.Errorf("service state %q, want inactive", state)
				}
			}},
		{name: "the same --dir reopens it", args: []string{"sandbox", "--no-tui", "--dir", x}, wantStdout: xData + "\n",
			wantStderr: []string{"reopened the sandbox in " + x},
			check: func(t *testing.T) {
				if string(readFile(t, filepath.Join(xData, "server", "token"))) != string(token) {
					t.Error("reopening rewrote the token")
				}
			}},
		{name: "--no-tour still works", args: []string{"sandbox", "--no-tour", "--dir", x}, wantStdout: xData + "\n",
			wantStderr: []string{"deprecated", "use --no-tui"}},
		{name: "--from copies a node", args: []string{"sandbox", "--from", xData, "--no-tui", "--dir", y}, wantStdout: yData + "\n",
			wantStderr: []string{"copied from " + xData, "server/tls (", "server/db/state.db (VACUUM INTO", "datastore: sqlite"},
			check: func(t *testing.T) {
				if string(readFile(t, filepath.Join(yData, "server", "token"))) != string(token) {
					t.Error("the copy has another token")
				}
			}},
		{name: "the copy works", args: []string{"datastore", "show", "-d", yData}},
		{name: "--from into a dir with a sandbox", args: []string{"sandbox", "--from", xData, "--no-tui", "--dir", y},
			wantCode: exitUsage, wantStderr: []string{"already holds one"}},
		{name: "--from a dir without server/tls", args: []string{"sandbox", "--from", t.TempDir(), "--no-tui", "--dir", filepath.Join(t.TempDir(), "z")},
			wantCode: exitFailure, wantStderr: []string{"has no server/tls"}},
		{name: "a --dir with other files", args: []string{"sandbox", "--no-tui", "--dir", filepath.Dir(x)},
			wantCode: exitFailure, wantStderr: []string{"not a k3sca sandbox"}},
		{name: "a sandbox data dir as --dir", args: []string{"sandbox", "--no-tui", "--dir", xData},
			wantCode: exitFailure, wantStderr: []string{"give its parent " + x}},
		{name: "--no-tui with --tour", args: []string{"sandbox", "--no-tui", "--tour", "--dir", x},
			wantCode: exitUsage, wantStderr: []string{"exclude each other"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runAt(t, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, tc.wantCode, r.stderr)
			}
			if tc.wantStdout != "" && r.stdout != tc.wantStdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.wantStdout)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(x), "data")); err == nil {
		t.Error("a refused --dir got a data dir")
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cliCluster builds a 3+2 sandbox cluster with `k3sca sandbox` in the
// test's dir: the cluster's dir, s1's data dir and the cluster.
func cliCluster(t *testing.T) (dir, dataDir string, c *sandbox.Cluster) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "cl")
	r := runAt(t, "sandbox", "--servers", "3", "--agents", "2", "--dir", dir, "--no-tui")
	if r.code != exitOK {
		t.Fatalf("sandbox cluster: %d\n%s", r.code, r.stderr)
	}
	c, err := sandbox.OpenCluster(filepath.Join(dir, "inventory.yml"))
	if err != nil || c == nil {
		t.Fatalf("the sandbox cluster: %v", err)
	}
	return dir, strings.TrimSpace(r.stdout), c
}

// TestSandboxClusterRotation: one command builds a sandbox cluster; a
// self-signed CA rotation on its first server runs to the end across all
// its nodes; `run rollout --dry-run -o json` then reports every node done.
func TestSandboxClusterRotation(t *testing.T) {
	dir, dd, _ := cliCluster(t)
	if r := runAt(t, "run", "rotate-ca", "-d", dd, "--yes", "--confirm", "load"); r.code != exitUsage || !strings.Contains(r.stderr, "--confirm sandbox") {
		t.Fatalf("the rollout needs the cluster's name: %d\n%s", r.code, r.stderr)
	}
	if r := runAt(t, "run", "rotate-ca", "-d", dd, "--yes", "--confirm", "load,sandbox", "--parallel", "2"); r.code != exitOK || !strings.Contains(r.stdout, "5 nodes: 5 done") {
		t.Fatalf("rotate-ca across the cluster: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	before := testkit.TreeState(t, dir)
	r := runAt(t, "run", "rollout", "-d", dd, "--dry-run", "-o", "json")
	var rep struct {
		OK     bool `json:"ok"`
		DryRun bool `json:"dryRun"`
		Steps  []struct {
			Status  string `json:"status"`
			Outcome struct {
				Summary string `json:"summary"`
				Data    struct {
					DryRun bool `json:"dryRun"`
					Nodes  []struct {
						Name, State, Regenerate, Shows string
						Edits                          []json.RawMessage
						Restarted, Changed             bool
					} `json:"nodes"`
				} `json:"data"`
			} `json:"outcome"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitOK || !rep.OK || !rep.DryRun || len(rep.Steps) != 1 || len(rep.Steps[0].Outcome.Data.Nodes) != 5 {
		t.Fatalf("rollout dry run: %v %d\n%s\n%s", err, r.code, r.stdout, r.stderr)
	}
	if st := rep.Steps[0]; st.Status != "planned" || !st.Outcome.Data.DryRun || st.Outcome.Summary != "5 nodes: 5 done" {
		t.Errorf("the dry run's step: %s, %q (dry run %v)", st.Status, st.Outcome.Summary, st.Outcome.Data.DryRun)
	}
	// Every node done, nothing to do: no edit, no trigger, no restart.
	for _, n := range rep.Steps[0].Outcome.Data.Nodes {
		if n.State != "done" || len(n.Edits) > 0 || n.Regenerate != "" || n.Shows != "" || n.Restarted || n.Changed {
			t.Errorf("%s after the rollout: %+v", n.Name, n)
		}
	}
	if strings.Contains(r.stderr, "roll it out with") {
		t.Errorf("nothing to do, yet the dry run offers the command that rolls it out:\n%s", r.stderr)
	}
	if after := testkit.TreeState(t, dir); !maps.Equal(before, after) {
		t.Error("the dry run changed a file of the cluster")
	}
}

// TestRolloutFlagsRefused: a bad --parallel, --node or --accept-host-key is a usage error
// that names it, before any step.
func TestRolloutFlagsRefused(t *testing.T) {
	sb := sandboxtest.New(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--parallel", "0"}, "--parallel must be at least 1 (got 0)"},
		{[]string{"--node", "s1=10.0.0.1"}, "role= is required"},
		{[]string{"--node", "s1=10.0.0.1,role=boss"}, `bad role "boss"`},
		{[]string{"--accept-host-key", "s1"}, "want NODE=SHA256:"},
		{[]string{"--accept-host-key", "s1=MD5:aa"}, "want NODE=SHA256:"},
	}
	for _, tt := range tests {
		r := runAt(t, append([]string{"run", "rollout", "-d", sb.DataDir, "--dry-run"}, tt.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "step 1/") {
			t.Errorf("%v: exit %d, want %d and %q\n%s", tt.args, r.code, exitUsage, tt.want, r.stderr)
		}
	}
}

// TestSandboxTour: the headless tour runs every command it prints, as the
// operator would type it, to its end; k3s is running when it ends.
func TestSandboxTour(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tour")
	r := runAt(t, "sandbox", "--dir", dir, "--tour")
	if r.code != exitOK {
		t.Fatalf("tour: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"$ k3sca generate rotation", "--yes", "$ k3sca load -d " + filepath.Join(dir, "data") + " --path", "--confirm load",
		"$ k3sca sandbox restart", "remove it with: rm -rf " + dir} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tour output lacks %q:\n%s", want, r.stdout)
		}
	}
	if state := readFile(t, filepath.Join(dir, "data", ".k3sca-service")); string(state) != "active\n" {
		t.Errorf("k3s is %q after the tour, want active", state)
	}
}

// lineAfter is the rest of the first line of out holding prefix, trimmed.
func lineAfter(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(l, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no line with %q in:\n%s", prefix, out)
	return ""
}

// runPrinted runs a k3sca command line as printed for the operator.
func runPrinted(t *testing.T, line string) result {
	t.Helper()
	args := strings.Fields(line)
	if len(args) < 2 || args[0] != "k3sca" {
		t.Fatalf("not a k3sca command: %q", line)
	}
	return runAt(t, args[1:]...)
}

// TestPrintedClusterCommandsRun: on a cluster whose inventory is not the
// sandbox cluster's own (the operator keeps it elsewhere), the commands
// k3sca prints, run as printed, do their job: the resume of a rollout that
// stopped at s3 (which a dry run of the rollout prints too) finishes it,
// and the undo of the load puts the old CA back on every node (the
// restore puts back, through the same inventory, each token file from
// the backup the rollout made: every file as it was before the rotation).
func TestPrintedClusterCommandsRun(t *testing.T) {
	dir, dd, c := cliCluster(t)
	oldHash := clustertest.TokenHashes(t, c.Nodes[0].Root)[0]
	before := map[string]map[string]string{}
	for _, n := range c.Nodes {
		before[n.Name] = nodeTokenFiles(t, n.Root)
	}
	// The inventory (and the sandbox's record of its nodes) moves: the
	// data dir no longer tells where the cluster's inventory is.
	kept := filepath.Join(t.TempDir(), "ops")
	if err := os.Mkdir(kept, 0o700); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(kept, "hosts.yml")
	for from, to := range map[string]string{"inventory.yml": "hosts.yml", ".k3sca-sandbox-cluster.json": ".k3sca-sandbox-cluster.json"} {
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(kept, to)); err != nil {
			t.Fatal(err)
		}
	}
	// s3 cannot start: a file newer than the datastore, as k3s refuses.
	newer := filepath.Join(product.ServerDir(c.Nodes[2].DataDir), "tls", "client-ca.crt")
	setMtime := func(at time.Time) {
		testkit.SetMtime(t, newer, at)
	}
	setMtime(testkit.Now.Add(time.Hour))
	r := runAt(t, "run", "rotate-ca", "-d", dd, "--inventory", inv, "--yes", "--confirm", "load,sandbox")
	out := r.stdout + r.stderr
	if r.code != exitFailure || !strings.Contains(out, "newer than datastore") {
		t.Fatalf("the rollout must stop at s3: exit %d\n%s", r.code, out)
	}
	resume := lineAfter(t, out, "resume (it does only what is left): ")
	undo := lineAfter(t, out, "undo with: ")
	for _, cmd := range []string{resume, undo} {
		if !strings.Contains(cmd, " --inventory "+inv+" ") {
			t.Errorf("%q does not name the inventory %s", cmd, inv)
		}
	}
	newHash := clustertest.TokenHashes(t, c.Nodes[0].Root)[0]
	if newHash == oldHash {
		t.Fatal("s1's token did not get the new hash")
	}

	setMtime(testkit.Now.Add(-2 * time.Hour)) // the operator fixes s3
	// A dry run of what is left prints the command that rolls it out: the
	// resume, as the failure printed it.
	r = runAt(t, "run", "rollout", "-d", dd, "--inventory", inv, "--dry-run")
	if r.code != exitOK {
		t.Fatalf("rollout dry run: exit %d\n%s", r.code, r.stderr)
	}
	if rollOut := lineAfter(t, r.stdout+r.stderr, "roll it out with: "); rollOut != resume {
		t.Errorf("the dry run prints %q, the failure %q", rollOut, resume)
	}
	if r := runPrinted(t, resume); r.code != exitOK || !strings.Contains(r.stdout+r.stderr, "5 nodes: 5 done") {
		t.Fatalf("%s: exit %d\n%s\n%s", resume, r.code, r.stdout, r.stderr)
	}
	for _, n := range c.Nodes {
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != newHash {
				t.Errorf("after the resume %s: a token holds %s, want %s", n.Name, h, newHash)
			}
		}
	}

	backupsBefore := map[string]int{}
	for _, n := range c.Nodes {
		backupsBefore[n.Name] = nodeBackups(t, n.Root)
	}
	if r := runPrinted(t, undo); r.code != exitOK || !strings.Contains(r.stdout+r.stderr, "5 nodes: 5 done") {
		t.Fatalf("%s: exit %d\n%s\n%s", undo, r.code, r.stdout, r.stderr)
	}
	for _, n := range c.Nodes {
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != oldHash {
				t.Errorf("after the undo %s: a token holds %s, want the one before the rotation %s", n.Name, h, oldHash)
			}
		}
		// Put back from the rollout's backups: each file as it was.
		if got := nodeTokenFiles(t, n.Root); !maps.Equal(got, before[n.Name]) {
			t.Errorf("after the undo %s: token files %q, want as before the rotation %q", n.Name, got, before[n.Name])
		}
		if k := nodeBackups(t, n.Root); k != backupsBefore[n.Name] {
			t.Errorf("after the undo %s: %d backups, %d before: the undo rewrote a file instead of putting its backup back", n.Name, k, backupsBefore[n.Name])
		}
	}
}

// nodeBackups counts the rollout's backups under a node root's etc.
func nodeBackups(t *testing.T, root string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "etc"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".k3sca-bak-") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// nodeTokenFiles are the files under a node root's etc holding a token,
// backups and temp files aside: path to bytes and mode.
func nodeTokenFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "etc"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(d.Name(), ".k3sca-") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "K10") {
			return err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		files[p] = fmt.Sprintf("%v %s", fi.Mode(), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNodeServicesSandboxFirst: a sandbox data dir gets the sandbox's
// simulated service manager whatever this machine runs; any other dir this
// machine's (node.DetectServices).
func TestNodeServicesSandboxFirst(t *testing.T) {
	sb := sandboxtest.New(t)
	if got := nodeServices(sb.DataDir); got.Name() != "sandbox" {
		t.Errorf("sandbox data dir: %s, want sandbox", got.Name())
	}
	if got, want := nodeServices(filepath.Join(t.TempDir(), "data")).Name(), node.DetectServices().Name(); got != want {
		t.Errorf("other data dir: %s, want this machine's %s", got, want)
	}
}
