package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
	"github.com/k3sca/k3sca/steps"
)

// runWith runs the CLI like runAt, with stdout going to w.
func runWith(t *testing.T, w io.Writer, args ...string) result {
	t.Helper()
	var errb bytes.Buffer
	a := newApp(w, &errb)
	a.now = testkit.Clock
	a.home = func() (string, error) { return t.TempDir(), nil }
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetErr(&errb)
	code := a.exitCode(root.ExecuteContext(context.Background()))
	return result{code: code, stderr: errb.String()}
}

// fullWriter fails every write, as stdout redirected to /dev/full does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/stdout: no space left on device")
}

// stageRotation stages a rotation of sb's CAs with the CLI.
func stageRotation(t *testing.T, dataDir string) string {
	t.Helper()
	stage := filepath.Join(t.TempDir(), "stage")
	if r := runAt(t, "generate", "rotation", "-d", dataDir, "--out", stage, "--yes"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	return stage
}

// liveValue reads sb's bootstrap value from state.db.
func liveValue(t *testing.T, sb *sandbox.Sandbox) datastore.KV {
	t.Helper()
	ctx := context.Background()
	db, err := datastore.OpenSQLite(ctx, filepath.Join(sb.ServerDir, "db", "state.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kv, err := db.Get(ctx, sb.Key)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestLoadOutcomeWhenStdoutFails: the write is committed, then printing
// the JSON result fails. The exit code still says what the datastore
// holds (0: written), and stderr says the result could not be printed.
func TestLoadOutcomeWhenStdoutFails(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := stageRotation(t, sb.DataDir)
	old := liveValue(t, sb)
	r := runWith(t, fullWriter{}, "load", "-d", sb.DataDir, "--path", stage, "--yes", "--confirm", "load", "-o", "json")
	now := liveValue(t, sb)
	if now.ModRevision == old.ModRevision {
		t.Fatalf("the load wrote nothing: exit %d %s", r.code, r.stderr)
	}
	if r.code != exitOK || !strings.Contains(r.stderr, "could not print the result") || !strings.Contains(r.stderr, "outcome is: written") {
		t.Errorf("written, stdout full: exit %d, stderr %q; want 0 saying the result could not be printed", r.code, r.stderr)
	}
	// A dry run that cannot print its plan wrote nothing and failed.
	if r := runWith(t, fullWriter{}, "load", "-d", sb.DataDir, "--path", stageRotation(t, sb.DataDir), "--dry-run"); r.code != exitFailure {
		t.Errorf("dry run, stdout full: exit %d, want 1", r.code)
	}
}

// TestLoadJSONOutcome: -o json says what the datastore holds.
func TestLoadJSONOutcome(t *testing.T) {
	sb := sandboxtest.New(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"dry run", []string{"--dry-run"}, exitOK, "not-written"},
		{"load", []string{"--yes", "--confirm", "load"}, exitOK, "written"},
		{"load without the word", []string{"--yes"}, exitUsage, "not-written"},
		{"load of a moved plan", []string{"--yes", "--confirm", "load", "--revision", "1"}, exitFailure, "not-written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAt(t, append([]string{"load", "-d", sb.DataDir, "--path", stageRotation(t, sb.DataDir), "-o", "json"}, tt.args...)...)
			var j loadJSON
			if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
				t.Fatalf("exit %d, stdout %q: %v", r.code, r.stdout, err)
			}
			if r.code != tt.wantCode || j.Outcome != tt.want {
				t.Errorf("exit %d outcome %q, want %d %q (%s)", r.code, j.Outcome, tt.wantCode, tt.want, r.stderr)
			}
		})
	}
}

// TestExitCodeOfUnknownOutcome: a write whose outcome is unknown exits 4
// and prints the command that finds out.
func TestExitCodeOfUnknownOutcome(t *testing.T) {
	var errb bytes.Buffer
	a := newApp(io.Discard, &errb)
	err := fmt.Errorf("step 5 (load): %w", &steps.UnknownOutcomeError{Key: "/bootstrap/x", Write: errors.New("reset"), Read: errors.New("refused"), Check: "k3sca load --dry-run"})
	if code := a.exitCode(err); code != exitUnknown || !strings.Contains(errb.String(), "k3sca load --dry-run") {
		t.Errorf("exit %d, stderr %q; want %d naming the check", code, errb.String(), exitUnknown)
	}
}

// TestConcurrentLoads: while one load is between its backup and its write,
// a second load on the same data dir is refused before it writes anything
// (no backup, no datastore change), naming the holder; the first one then
// completes. Exactly one succeeds.
func TestConcurrentLoads(t *testing.T) {
	sb := sandboxtest.New(t)
	stageA, stageB := stageRotation(t, sb.DataDir), stageRotation(t, sb.DataDir)
	old := liveValue(t, sb)
	paused, resume := make(chan struct{}), make(chan struct{})
	done := make(chan result)
	go func() {
		var out, errb bytes.Buffer
		a := newApp(&out, &errb)
		a.now = testkit.Clock
		a.home = func() (string, error) { return t.TempDir(), nil }
		a.loadHook = func(point string) {
			if point == "after-backup" {
				close(paused)
				<-resume
			}
		}
		root := a.rootCommand()
		root.SetArgs([]string{"load", "-d", sb.DataDir, "--path", stageA, "--yes", "--confirm", "load"})
		root.SetOut(&out)
		root.SetErr(&errb)
		code := a.exitCode(root.ExecuteContext(context.Background()))
		done <- result{code, out.String(), errb.String()}
	}()
	<-paused
	backups, err := steps.ListBackups(sb.DataDir)
	if err != nil || len(backups) != 1 {
		t.Fatalf("backups while the first load is paused: %d, %v", len(backups), err)
	}
	second := runAt(t, "load", "-d", sb.DataDir, "--path", stageB, "--yes", "--confirm", "load", "-o", "json")
	holder := fmt.Sprintf("pid %d (k3sca load) since %s", os.Getpid(), testkit.Now.Format(time.RFC3339))
	if second.code != exitFailure || !strings.Contains(second.stderr, holder) {
		t.Errorf("second load: exit %d, stderr %q; want 1 naming %q", second.code, second.stderr, holder)
	}
	var j loadJSON
	if err := json.Unmarshal([]byte(second.stdout), &j); err != nil || j.Outcome != "not-written" || !strings.Contains(j.Error, holder) {
		t.Errorf("second load JSON %q: %v", second.stdout, err)
	}
	if now := liveValue(t, sb); now.ModRevision != old.ModRevision {
		t.Errorf("the refused load changed the datastore: revision %d -> %d", old.ModRevision, now.ModRevision)
	}
	if after, _ := steps.ListBackups(sb.DataDir); len(after) != 1 {
		t.Errorf("the refused load wrote a backup: %d backups", len(after))
	}
	close(resume)
	first := <-done
	if first.code != exitOK {
		t.Fatalf("first load: exit %d %s", first.code, first.stderr)
	}
	if now := liveValue(t, sb); now.ModRevision == old.ModRevision {
		t.Error("the first load did not write")
	}
	// Released at its end: a third load takes the lock.
	if r := runAt(t, "load", "-d", sb.DataDir, "--path", stageB, "--yes", "--confirm", "load"); r.code != exitOK {
		t.Errorf("load after the first ended: exit %d %s", r.code, r.stderr)
	}
}

// TestDatastoreBadInput: each bad input gets a clear, specific error and
// the exit code of its kind, and changes nothing in the datastore.
func TestDatastoreBadInput(t *testing.T) {
	tests := []struct {
		name     string
		args     func(t *testing.T, sb, other *sandbox.Sandbox) []string
		wantCode int
		want     []string
	}{
		{"state.db is a directory", func(t *testing.T, sb, _ *sandbox.Sandbox) []string {
			db := filepath.Join(sb.ServerDir, "db", "state.db")
			for _, p := range []string{db, db + "-wal", db + "-shm"} {
				_ = os.Remove(p)
			}
			if err := os.Mkdir(db, 0o700); err != nil {
				t.Fatal(err)
			}
			return []string{"load", "-d", sb.DataDir, "--path", stageRotation(t, sb.DataDir), "--dry-run"}
		}, exitFailure, []string{"state.db", "not a regular file"}},
		{"state.db is a directory, --via sqlite", func(t *testing.T, sb, _ *sandbox.Sandbox) []string {
			db := filepath.Join(sb.ServerDir, "db", "state.db")
			for _, p := range []string{db, db + "-wal", db + "-shm"} {
				_ = os.Remove(p)
			}
			if err := os.Mkdir(db, 0o700); err != nil {
				t.Fatal(err)
			}
			return []string{"load", "-d", sb.DataDir, "--via", "sqlite", "--path", stageRotation(t, sb.DataDir), "--dry-run"}
		}, exitFailure, []string{"state.db", "not a regular file"}},
		{"staged file unreadable", func(t *testing.T, sb, _ *sandbox.Sandbox) []string {
			stage := stageRotation(t, sb.DataDir)
			bad := filepath.Join(stage, "tls", "client-ca.crt")
			if err := os.Remove(bad); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(bad, 0o700); err != nil {
				t.Fatal(err)
			}
			return []string{"validate", "-d", sb.DataDir, "--path", stage}
		}, exitFailure, []string{"client-ca.crt", "not a regular file"}},
		{"token with another CA hash", func(t *testing.T, sb, _ *sandbox.Sandbox) []string {
			tok := sb.Token.WithCAHash(strings.Repeat("ab", 32))
			return []string{"load", "-d", sb.DataDir, "--path", stageRotation(t, sb.DataDir), "--dry-run", "--token", tok.String()}
		}, exitOK, []string{"warning: the token's CA hash abab", "is not this cluster's"}},
		{"backup of another cluster", func(t *testing.T, sb, other *sandbox.Sandbox) []string {
			r := runAt(t, "load", "-d", other.DataDir, "--path", stageRotation(t, other.DataDir), "--yes", "--confirm", "load", "-o", "json")
			var j loadJSON
			if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.Backup == "" {
				t.Fatalf("load on the other cluster: %s %v", r.stderr, err)
			}
			return []string{"datastore", "restore", j.Backup, "-d", sb.DataDir, "--yes", "--confirm", "restore"}
		}, exitFailure, []string{"this backup belongs to another cluster (bootstrap key /bootstrap/", "this cluster's is /bootstrap/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, other := sandboxtest.New(t), sandboxtest.New(t)
			args := tt.args(t, sb, other)
			r := runAt(t, args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d: %s", r.code, tt.wantCode, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}

// TestLoadDatastoreCopyCLI: the copy of state.db is in the load's JSON
// (planned in a dry run, taken by the load) and in `datastore backups`;
// --sqlite-copy-limit (or K3SCA_SQLITE_COPY_LIMIT) skips it, saying why.
func TestLoadDatastoreCopyCLI(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := stageRotation(t, sb.DataDir)
	type copyJSON struct {
		DatastoreCopy *struct {
			Kind    string `json:"kind"`
			Taken   bool   `json:"taken"`
			Path    string `json:"path"`
			Size    int64  `json:"size"`
			DBSize  int64  `json:"dbSize"`
			Limit   int64  `json:"limit"`
			Skipped string `json:"skipped"`
			Restore string `json:"restore"`
		} `json:"datastoreCopy"`
	}
	decode := func(r result) copyJSON {
		t.Helper()
		var j copyJSON
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.DatastoreCopy == nil {
			t.Fatalf("json %q: %v (exit %d, %s)", r.stdout, err, r.code, r.stderr)
		}
		return j
	}
	j := decode(runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--dry-run", "-o", "json", "--sqlite-copy-limit", "4KiB"))
	if c := j.DatastoreCopy; c.Kind != "none" || c.Taken || c.Limit != 4096 || !strings.Contains(c.Skipped, "over the copy limit of 4.0 KiB") {
		t.Errorf("dry run over the limit: %+v", c)
	}
	t.Setenv("K3SCA_SQLITE_COPY_LIMIT", "0")
	j = decode(runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--dry-run", "-o", "json"))
	if c := j.DatastoreCopy; c.Kind != "none" || !strings.Contains(c.Skipped, "turned off") {
		t.Errorf("dry run with the copy turned off: %+v", c)
	}
	t.Setenv("K3SCA_SQLITE_COPY_LIMIT", "")
	j = decode(runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--dry-run", "-o", "json"))
	if c := j.DatastoreCopy; c.Kind != "sqlite-copy" || c.Taken || c.DBSize <= 0 || c.Limit != 1<<30 {
		t.Errorf("dry run: %+v, want a planned copy with the 1 GiB default", c)
	}
	lr := runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--yes", "--confirm", "load", "-o", "json")
	j = decode(lr)
	c := j.DatastoreCopy
	if c.Kind != "sqlite-copy" || !c.Taken || c.Size <= 0 || c.Restore == "" {
		t.Fatalf("load: %+v, want a taken copy", c)
	}
	if !strings.Contains(lr.stderr, "to restore the whole datastore: stop k3s on this server, then run: "+c.Restore) {
		t.Errorf("the load does not say how to restore the copy:\n%s", lr.stderr)
	}
	if _, err := os.Stat(c.Path); err != nil {
		t.Fatal(err)
	}
	r := runAt(t, "datastore", "backups", "-d", sb.DataDir)
	if r.code != 0 || !strings.Contains(r.stdout, c.Path+" (sqlite-copy)") || !strings.Contains(r.stderr, c.Restore) {
		t.Errorf("backups list does not show the copy and its restore:\n%s\n%s", r.stdout, r.stderr)
	}
	if r := runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--dry-run", "--sqlite-copy-limit", "lots"); r.code != exitUsage || !strings.Contains(r.stderr, "--sqlite-copy-limit") {
		t.Errorf("bad limit: exit %d %s", r.code, r.stderr)
	}
}
