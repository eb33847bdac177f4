package steps

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// fileState is a file's bytes and mode.
type fileState struct {
	data string
	mode fs.FileMode
}

// tokenFiles are the files under a node root's etc that hold a token
// (backups and temp files aside), by path.
func tokenFiles(t *testing.T, n sandbox.Node) map[string]fileState {
	t.Helper()
	files := map[string]fileState{}
	err := filepath.WalkDir(filepath.Join(n.Root, "etc"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(d.Name(), ".k3sca-bak-") || strings.Contains(d.Name(), ".k3sca-tmp-") {
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
		files[p] = fileState{string(b), fi.Mode()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// rolledOutCluster is a 3+2 sandbox cluster after rotate-ca on s1 with
// its rollout to every node; it returns the datastore backup the load
// wrote, the old CA hash and every node's token files before the
// rotation. s2's token file is 0640 (the rollout keeps that mode).
func rolledOutCluster(t *testing.T) (*sandbox.Cluster, Env, *Backup, string, map[string]map[string]fileState) {
	t.Helper()
	c, env := sandboxCluster(t)
	oldHash := clustertest.TokenHashes(t, c.Nodes[0].Root)[0]
	for p := range tokenFiles(t, c.Nodes[1]) {
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]map[string]fileState{}
	for _, n := range c.Nodes {
		before[n.Name] = tokenFiles(t, n)
	}
	rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(env.StageRoot, "stage")}, Runner{Yes: true, Words: []string{"load", "sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-ca with the rollout: %v\n%s", err, out)
	}
	bs, err := ListBackups(env.DataDir)
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups: %v %v", bs, err)
	}
	return c, env, bs[0], oldHash, before
}

// undoReport runs the undo (the datastore flow restoring b, confirmed)
// and returns the report of its last step, the rollout's undo.
func undoReport(t *testing.T, env Env, b *Backup) (*rollout.Report, string, error) {
	t.Helper()
	r := Runner{Yes: true, Words: []string{"restore", "sandbox"}}
	rep, out, err := runFlow(t, env, FlowDatastore, map[string]string{"restore": b.Path}, r)
	var rr *rollout.Report
	if last := rep.Steps; len(last) > 0 {
		if o := last[len(last)-1].Outcome; o != nil {
			rr, _ = o.Data.(*rollout.Report)
		}
	}
	var re *RolloutError
	if errors.As(err, &re) {
		rr = re.Report
	}
	return rr, out, err
}

// TestUndoPutsBackTheTokenFiles: the undo of rotate-ca (the restore of
// its datastore backup, as the load printed it) puts every node's token
// files back from the backups the rollout made: each file byte for byte
// and with its mode as before the rotation (s2's 0640, though the live
// file was made 0600 since), no new backup; every node is checked against
// the restored CA. Its plan names each put-back; a rerun does nothing.
func TestUndoPutsBackTheTokenFiles(t *testing.T) {
	c, env, b, oldHash, before := rolledOutCluster(t)
	for p := range tokenFiles(t, c.Nodes[1]) {
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	nBackups := map[string]int{}
	for _, n := range c.Nodes {
		nBackups[n.Name] = len(backups(t, n))
	}

	rr, out, err := undoReport(t, env, b)
	if err != nil || rr == nil || !rr.PutBack || rr.Summary() != "5 nodes: 5 done" || rr.NewHash != oldHash {
		t.Fatalf("the undo: %v %+v\n%s", err, rr, out)
	}
	// Its plan (the step's dry run, shown before it runs) names each
	// put-back.
	if got := strings.Count(out, "  (put back from "); got != len(c.Nodes) {
		t.Errorf("the plan shows %d put-backs, want one per node:\n%s", got, out)
	}
	for i, n := range c.Nodes {
		got := tokenFiles(t, n)
		for p, want := range before[n.Name] {
			if got[p] != want {
				t.Errorf("%s: %s after the undo is %q %v, want as before the rotation %q %v", n.Name, p, got[p].data, got[p].mode, want.data, want.mode)
			}
		}
		if len(got) != len(before[n.Name]) {
			t.Errorf("%s: token files %v, before %v", n.Name, got, before[n.Name])
		}
		if k := len(backups(t, n)); k != nBackups[n.Name] {
			t.Errorf("%s: %d backups after the undo, %d before: a put-back makes none", n.Name, k, nBackups[n.Name])
		}
		if nr := rr.Nodes[i]; len(nr.Edits) != 1 || !nr.Edits[0].PutBack || !strings.Contains(nr.Edits[0].Backup, ".k3sca-bak-") {
			t.Errorf("%s: edits %+v, want its token file put back from its backup", n.Name, nr.Edits)
		}
	}

	again, out, err := undoReport(t, env, b)
	if err != nil || again == nil || again.Summary() != "5 nodes: 5 done" {
		t.Fatalf("the undo again: %v\n%s", err, out)
	}
	for _, nr := range again.Nodes {
		if nr.Changed || len(nr.Edits) > 0 {
			t.Errorf("the undo run again changed %s: %+v", nr.Name, nr)
		}
	}
}

// TestUndoRefusesAFileChangedSince: a token file edited by hand after the
// rollout (a1's: a line added) is not put back: the undo stops at a1 with
// the reason, a1's file keeps the operator's edit, a2 is untouched; once
// the operator takes the edit back, the resume the failure printed (the
// undo, run again) finishes it.
func TestUndoRefusesAFileChangedSince(t *testing.T) {
	c, env, b, oldHash, before := rolledOutCluster(t)
	a1, a2 := c.Nodes[3], c.Nodes[4]
	var edited string
	for p, f := range tokenFiles(t, a1) {
		edited = p
		if err := os.WriteFile(p, []byte(f.data+"# K3S_NODE_NAME set by hand\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	handEdit, _ := os.ReadFile(edited)
	a2Live := tokenFiles(t, a2)

	rr, out, err := undoReport(t, env, b)
	var re *RolloutError
	if !errors.As(err, &re) || !errors.Is(err, rollout.ErrNoBackup) || rr == nil {
		t.Fatalf("the undo with a1's file changed: %v\n%s", err, out)
	}
	if got := rr.Summary(); got != "5 nodes: 3 done, 1 failed, 1 untouched" {
		t.Errorf("summary %q, want s1-s3 done, a1 failed, a2 untouched", got)
	}
	if !strings.Contains(rr.Nodes[3].Error, strings.TrimPrefix(edited, a1.Root)) || !strings.Contains(rr.Nodes[3].Error, "changed since the rollout wrote it") {
		t.Errorf("a1's error does not say which file and why: %s", rr.Nodes[3].Error)
	}
	if b, _ := os.ReadFile(edited); string(b) != string(handEdit) {
		t.Errorf("a1's file was overwritten: %q", b)
	}
	for p, f := range tokenFiles(t, a2) {
		if a2Live[p] != f {
			t.Errorf("a2 was touched: %s", p)
		}
	}
	if want := restoreCommand(env, b.Path); re.Resume != want {
		t.Errorf("the resume is %q, want the undo again: %q", re.Resume, want)
	}

	// The operator takes the hand edit back; the undo, run again, finishes.
	if err := os.WriteFile(edited, []byte(strings.TrimSuffix(string(handEdit), "# K3S_NODE_NAME set by hand\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	rr, out, err = undoReport(t, env, b)
	if err != nil || rr == nil || rr.Summary() != "5 nodes: 5 done" {
		t.Fatalf("the undo run again: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != oldHash {
				t.Errorf("%s: a token holds %s after the undo, want %s", n.Name, h, oldHash)
			}
		}
		for p, want := range before[n.Name] {
			if got := tokenFiles(t, n)[p]; got.data != want.data {
				t.Errorf("%s: %s is not as before the rotation", n.Name, p)
			}
		}
	}
	for i, nr := range rr.Nodes {
		if i < 3 && nr.Changed {
			t.Errorf("the rerun touched %s again", nr.Name)
		}
	}
}

// TestUndoKilled: the undo killed at every kind of point (inside a
// put-back with its temp file written, right after one, before a
// restart, before the check of a restarted node, on servers and agents),
// then run again, finishes: every token file as before the rotation, no
// backup added, no temp file left.
func TestUndoKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	c, env, b, oldHash, before := rolledOutCluster(t)
	nBackups := map[string]int{}
	for _, n := range c.Nodes {
		nBackups[n.Name] = len(backups(t, n))
	}
	// The undo up to the put-backs: the datastore restored, s1 restarted
	// on the old CA.
	f := buildFlow(t, env, FlowDatastore, map[string]string{"restore": b.Path})
	if err := f.Select(nil, []string{"rollout"}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := (&Runner{Out: &out, Yes: true, Words: []string{"restore"}}).Run(context.Background(), f); err != nil {
		t.Fatalf("the restore: %v\n%s", err, out.String())
	}
	for _, point := range []string{"s1 put back temp", "s1 put back", "s2 put back temp", "s2 restart", "s2 check",
		"s3 put back", "a1 put back temp", "a1 restart", "a1 check", "a2 put back"} {
		killed, passed := rkRunChild(t, c, oldHash, point, -1, rkEnvPutBack+"=1")
		if !killed {
			t.Fatalf("the child finished without passing %q: %v", point, passed)
		}
	}
	rr, out2, err := undoReport(t, env, b)
	if err != nil || rr == nil || rr.Summary() != "5 nodes: 5 done" {
		t.Fatalf("the undo run again: %v\n%s", err, out2)
	}
	for _, n := range c.Nodes {
		got := tokenFiles(t, n)
		for p, want := range before[n.Name] {
			if got[p] != want {
				t.Errorf("%s: %s is %q %v, want as before the rotation %q %v", n.Name, p, got[p].data, got[p].mode, want.data, want.mode)
			}
		}
		if k := len(backups(t, n)); k != nBackups[n.Name] {
			t.Errorf("%s: %d backups, %d before the undo", n.Name, k, nBackups[n.Name])
		}
		_ = filepath.WalkDir(n.Root, func(p string, _ os.DirEntry, _ error) error {
			if strings.Contains(filepath.Base(p), ".k3sca-tmp-") {
				t.Errorf("%s: a killed put-back's temp file is left: %s", n.Name, p)
			}
			return nil
		})
	}
}
