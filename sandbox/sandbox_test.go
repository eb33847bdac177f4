package sandbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
	"github.com/k3sca/k3sca/steps"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

func TestSimulateRestart(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, sb *sandbox.Sandbox)
		wantErr error
	}{
		{name: "takes the loaded CAs, re-issues leaves, rewrites the token"},
		{name: "a differing file 3 s newer on disk aborts", wantErr: node.ErrNewerOnDisk, before: func(t *testing.T, sb *sandbox.Sandbox) {
			p := pki.ServerCAPath(sb.ServerDir)
			if err := os.WriteFile(p, []byte("edited by hand\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			future := testkit.Now.Add(time.Hour)
			testkit.SetMtime(t, p, future)
		}},
		{name: "a real data dir is refused", wantErr: node.ErrNotSandbox, before: func(t *testing.T, sb *sandbox.Sandbox) {
			if err := os.Remove(filepath.Join(sb.DataDir, node.SandboxMarker)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sb := sandboxtest.New(t)
			stage := sandboxtest.Stage(t, sb)
			l := steps.NewLoad(steps.LoadInput{
				DataDir: sb.DataDir, Staged: stage, Now: testkit.Now, Product: product.K3s,
				Access: steps.AccessInput{DataDir: sb.DataDir, Via: steps.ViaAuto, Product: product.K3s, Services: node.NewFakeServices()},
			})
			if _, err := l.Run(ctx); err != nil {
				t.Fatal(err)
			}
			want := l.Plan().Tokens.New.Hash.Hex
			if tc.before != nil {
				tc.before(t, sb)
			}
			rep, err := sandbox.SimulateRestart(ctx, sb.DataDir, product.K3s, testkit.Now.Add(time.Minute))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("restart: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if rep.Token.CAHash != want || rep.Token.Password != sb.Token.Password || len(rep.Updated) != 11 {
				t.Errorf("report %d updated, hash %s; want 11 and the validated new hash %s", len(rep.Updated), rep.Token.CAHash, want)
			}
			staged, _ := os.ReadFile(pki.ServerCAPath(stage))
			disk, _ := os.ReadFile(pki.ServerCAPath(sb.ServerDir))
			if !bytes.Equal(staged, disk) {
				t.Errorf("server-ca.crt on disk is not the loaded one")
			}
			ca, _ := pki.LoadBundle(pki.ServerCAPath(sb.ServerDir))
			leaf, err := pki.LoadBundle(filepath.Join(sb.ServerDir, "tls", "serving-kube-apiserver.crt"))
			if err != nil || !bytes.Equal(leaf[0].AuthorityKeyId, ca[0].SubjectKeyId) {
				t.Errorf("serving-kube-apiserver.crt was not re-issued by the new server CA (%v)", err)
			}
			again, err := sandbox.SimulateRestart(ctx, sb.DataDir, product.K3s, testkit.Now.Add(2*time.Minute))
			if err != nil || len(again.Updated) != 0 {
				t.Errorf("second restart: %v, %d updated; want nothing to do", err, len(again.Updated))
			}
		})
	}
}

func TestInspectSandboxRoot(t *testing.T) {
	tests := []struct {
		name       string
		root       func(t *testing.T) string
		wantReopen bool
		wantErr    error
	}{
		{name: "missing", root: func(t *testing.T) string { return filepath.Join(t.TempDir(), "new") }},
		{name: "empty", root: func(t *testing.T) string { return t.TempDir() }},
		{name: "a sandbox built before", wantReopen: true,
			root: func(t *testing.T) string { return filepath.Dir(sandboxtest.New(t).DataDir) }},
		{name: "someone's files", wantErr: sandbox.ErrDirInUse, root: func(t *testing.T) string {
			dir := t.TempDir()
			testkit.Mkdir(t, filepath.Join(dir, "server", "tls"))
			return dir
		}},
		{name: "a sandbox data dir instead of its parent", wantErr: sandbox.ErrDirInUse,
			root: func(t *testing.T) string { return sandboxtest.New(t).DataDir }},
		{name: "a file", wantErr: errAny, root: func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reopen, err := sandbox.InspectRoot(tc.root(t))
			if tc.wantErr == errAny && err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if reopen != tc.wantReopen {
				t.Errorf("reopen = %t, want %t", reopen, tc.wantReopen)
			}
		})
	}
}

func TestOpenSandbox(t *testing.T) {
	sb := sandboxtest.New(t)
	got, err := sandbox.Open(sb.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != sb.Token || got.Key != sb.Key || got.ServerDir != sb.ServerDir {
		t.Errorf("reopened %+v, want %+v", got, sb)
	}
	if state, _ := os.ReadFile(filepath.Join(sb.DataDir, sandbox.ServiceFile)); string(state) != "inactive\n" {
		t.Errorf("a new sandbox's service state is %q, want inactive", state)
	}
	if _, err := sandbox.Open(t.TempDir()); !errors.Is(err, node.ErrNotSandbox) {
		t.Errorf("open a plain dir: %v, want ErrNotSandbox", err)
	}
}

func TestCreateSandboxFrom(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, sb *sandbox.Sandbox) // makes the source look like a node
		wantCopied  []string                                // substrings of Copied
		wantSkipped []string                                // Skipped paths
		wantStore   string                                  // substring of Datastore
		readOnly    bool                                    // the source's files must not change at all
		wantErr     error
	}{
		{name: "a stopped SQLite server", readOnly: true, wantStore: "sqlite",
			wantCopied: []string{"server/tls (", "server/cred (", "server/token", "server/db/state.db (VACUUM INTO"}},
		{name: "a node's extras are skipped", wantStore: "sqlite",
			setup: func(t *testing.T, sb *sandbox.Sandbox) {
				testkit.Mkdir(t, filepath.Join(sb.DataDir, "agent", "images"))
				testkit.Mkdir(t, filepath.Join(sb.ServerDir, "db", "snapshots"))
				testkit.Mkdir(t, filepath.Join(sb.ServerDir, "manifests"))
				if err := os.WriteFile(filepath.Join(sb.ServerDir, "manifests", "ccm.yaml"), []byte("kind: x\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(sb.ServerDir, "token"), filepath.Join(sb.ServerDir, "node-token")); err != nil {
					t.Fatal(err)
				}
				testservers.ListenKineSocket(t, sb.ServerDir)
			},
			wantCopied:  []string{"server/manifests (1 files)"},
			wantSkipped: []string{"agent", "server/db/snapshots", "server/kine.sock", "server/node-token"}},
		{name: "embedded etcd: no datastore", wantStore: "none: the source runs embedded etcd",
			setup: func(t *testing.T, sb *sandbox.Sandbox) {
				testkit.Remove(t, sandboxtest.DBPath(sb))
				testkit.Mkdir(t, filepath.Join(sb.ServerDir, "db", "etcd", "member"))
			},
			wantSkipped: []string{"server/db/etcd"}},
		{name: "an agent's data dir is refused", wantErr: sandbox.ErrNotServerDataDir,
			setup: func(t *testing.T, sb *sandbox.Sandbox) {
				if err := os.RemoveAll(filepath.Join(sb.ServerDir, "tls")); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			src := sandboxtest.New(t)
			if tc.setup != nil {
				tc.setup(t, src)
			}
			before := testkit.Fingerprint(t, src.DataDir)
			dd := filepath.Join(t.TempDir(), "data")
			sb, rep, err := sandbox.CreateFrom(ctx, src.DataDir, dd, testkit.Now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if _, serr := os.Stat(dd); serr == nil {
					t.Errorf("a refused copy created %s", dd)
				}
				return
			}
			if tc.readOnly && testkit.Fingerprint(t, src.DataDir) != before {
				t.Error("the source changed")
			}
			copied := strings.Join(rep.Copied, "\n")
			for _, w := range tc.wantCopied {
				if !strings.Contains(copied, w) {
					t.Errorf("copied %q, want an entry %q", rep.Copied, w)
				}
			}
			var skipped []string
			for _, s := range rep.Skipped {
				skipped = append(skipped, s.Path)
			}
			for _, w := range tc.wantSkipped {
				if !slices.Contains(skipped, w) {
					t.Errorf("skipped %q, want %q", skipped, w)
				}
			}
			if !strings.Contains(rep.Datastore, tc.wantStore) {
				t.Errorf("datastore %q, want %q", rep.Datastore, tc.wantStore)
			}
			if !node.IsSandbox(dd) || sb.Token != src.Token || sb.Key != src.Key {
				t.Errorf("copy: sandbox %t, token or key differ", node.IsSandbox(dd))
			}
			if _, err := os.Stat(filepath.Join(dd, "agent")); err == nil {
				t.Error("agent/ was copied")
			}
			if active, err := (&sandbox.Services{DataDir: dd}).IsActive(ctx, "k3s"); err != nil || active {
				t.Errorf("the copy runs (%t, %v); want it stopped", active, err)
			}
			if strings.HasPrefix(tc.wantStore, "sqlite") {
				if _, err := sandbox.SimulateRestart(ctx, dd, product.K3s, testkit.Now); err != nil {
					t.Errorf("restart of the copy: %v", err)
				}
			}
		})
	}
}

// TestCreateSandboxFromLiveWAL copies a database whose newest commit lives
// only in the -wal of a connection that is still open, as with a running k3s.
func TestCreateSandboxFromLiveWAL(t *testing.T) {
	ctx := context.Background()
	src := sandboxtest.New(t)
	db, err := sql.Open("sqlite", "file:"+sandboxtest.DBPath(src)+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)
		VALUES ('/registry/only-in-wal', 1, 0, 0, 0, 0, x'00', NULL)`); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sandboxtest.DBPath(src) + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no live WAL to copy (%v)", err)
	}
	dd := filepath.Join(t.TempDir(), "data")
	if _, _, err := sandbox.CreateFrom(ctx, src.DataDir, dd, testkit.Now); err != nil {
		t.Fatal(err)
	}
	if dump := testkit.DumpSQLite(t, filepath.Join(dd, "server", "db", "state.db")); !strings.Contains(dump, "/registry/only-in-wal") {
		t.Error("the copy lacks the row committed to the WAL")
	}
	for _, junk := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(filepath.Join(dd, "server", "db", "state.db"+junk)); err == nil {
			t.Errorf("state.db%s was copied", junk)
		}
	}
}

func TestCreateSandboxFromRefuses(t *testing.T) {
	src := sandboxtest.New(t)
	tests := []struct {
		name string
		dd   func(t *testing.T) string
	}{
		{name: "inside the source", dd: func(*testing.T) string { return filepath.Join(src.DataDir, "sandbox") }},
		{name: "the source itself", dd: func(*testing.T) string { return src.DataDir }},
		{name: "a dir with files", dd: func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := testkit.Fingerprint(t, src.DataDir)
			if _, _, err := sandbox.CreateFrom(context.Background(), src.DataDir, tc.dd(t), testkit.Now); err == nil {
				t.Fatal("no error")
			}
			if testkit.Fingerprint(t, src.DataDir) != before {
				t.Error("the source changed")
			}
		})
	}
}
