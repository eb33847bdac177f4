package steps

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// stPlanText is the plan as the operator reads it.
func stPlanText(t *testing.T, p *Plan) string {
	t.Helper()
	var b strings.Builder
	if err := p.Render(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// stSQLiteValue reads key from a SQLite file read-only.
func stSQLiteValue(t *testing.T, path, key string) datastore.KV {
	t.Helper()
	db, err := datastore.OpenSQLiteReadOnly(context.Background(), path, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	kv, err := db.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("read %s from %s: %v", key, path, err)
	}
	return kv
}

// stRunShell runs a command k3sca printed for the operator, as a shell
// runs it, with dir first on PATH.
func stRunShell(t *testing.T, command, pathDir string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	return string(out)
}

// TestLoadSQLiteCopy: with k3s stopped the load copies state.db into the
// backup's folder before it writes; the copy holds the value before the
// load, and the printed restore command puts it back.
func TestLoadSQLiteCopy(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	old := stKV(t, sb)
	l := NewLoad(stInput(sb, stage, ViaAuto))
	plan, err := l.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	planned := l.Plan().Copy
	if planned.Kind != CopySQLite || planned.Taken || planned.DBSize <= 0 || planned.Limit != DefaultSQLiteCopyLimit {
		t.Fatalf("planned copy %+v, want a SQLite copy with the db size and the default limit", planned)
	}
	if !strings.Contains(stPlanText(t, plan), "consistent copy of state.db") || !strings.Contains(stPlanText(t, plan), sizeOf(planned.DBSize)) {
		t.Errorf("plan does not say the copy and the size:\n%s", plan)
	}
	sum, err := l.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := l.Result().Copy
	if c == nil || c.Kind != CopySQLite || !c.Taken || filepath.Dir(c.Path) != filepath.Dir(l.Result().Backup) {
		t.Fatalf("copy %+v, want a taken copy beside %s", c, l.Result().Backup)
	}
	fi, err := os.Stat(c.Path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != c.Size {
		t.Fatalf("copy file %v: %v, want 0600 and %d bytes", fi, err, c.Size)
	}
	if got := stSQLiteValue(t, c.Path, sb.Key); !bytes.Equal(got.Value, old.Value) || got.ModRevision != old.ModRevision {
		t.Errorf("the copy holds revision %d, want the value before the load (revision %d)", got.ModRevision, old.ModRevision)
	}
	if !strings.Contains(sum, c.Path) || !strings.Contains(c.HowToRestore, c.Restore) {
		t.Errorf("summary does not name the copy and its restore command: %s", sum)
	}
	bk, err := ReadBackup(l.Result().Backup)
	if err != nil || bk.DatastoreCopy == nil || *bk.DatastoreCopy != *c {
		t.Fatalf("backup records %+v (%v), want %+v", bk.DatastoreCopy, err, c)
	}
	list, err := ListBackups(sb.DataDir)
	if err != nil || len(list) != 1 || list[0].DatastoreCopy.Path != c.Path {
		t.Fatalf("backups list %v, %v", list, err)
	}
	// The printed restore, run as printed with k3s stopped, puts the whole
	// datastore back as it was before the load.
	if stKV(t, sb).ModRevision == old.ModRevision {
		t.Fatal("the load did not write")
	}
	stRunShell(t, c.Restore, t.TempDir())
	stSameKV(t, stKV(t, sb), old)
}

// TestLoadSQLiteCopySkipped: over the operator's limit, or with the copy
// turned off, the plan, the summary and the backup say that only the
// bootstrap value is backed up, and why; no copy is written.
func TestLoadSQLiteCopySkipped(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		limit int64
		want  string
	}{
		{"over the limit", 4096, "over the copy limit of 4.0 KiB (4096 bytes)"},
		{"turned off", -1, "turned off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			in := stInput(sb, sandboxtest.Stage(t, sb), ViaAuto)
			in.Access.SQLiteCopyLimit = tt.limit
			l := NewLoad(in)
			plan, err := l.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := l.Plan().Copy
			if c.Kind != CopyNone || !strings.Contains(c.Skipped, tt.want) || !strings.Contains(c.Skipped, "only the bootstrap value") {
				t.Fatalf("copy %+v, want none because %q", c, tt.want)
			}
			if !strings.Contains(stPlanText(t, plan), c.Skipped) {
				t.Errorf("plan does not say why:\n%s", plan)
			}
			sum, err := l.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sum, c.Skipped) {
				t.Errorf("summary does not say why: %s", sum)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(l.Result().Backup), sqliteCopyFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a copy of state.db was written: %v", err)
			}
			bk, err := ReadBackup(l.Result().Backup)
			if err != nil || bk.DatastoreCopy == nil || bk.DatastoreCopy.Kind != CopyNone || bk.DatastoreCopy.Skipped != c.Skipped {
				t.Errorf("backup records %+v (%v)", bk.DatastoreCopy, err)
			}
		})
	}
}

// stEmbedded makes the sandbox look like an embedded etcd server
// (server/db/etcd) whose etcd is a real one on 127.0.0.1, seeded with the
// sandbox's bootstrap value; it returns the load input, a client and the
// seeded revision.
func stEmbedded(t *testing.T, sb *sandbox.Sandbox, stage string) (LoadInput, *datastore.Etcd, int64) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(sb.ServerDir, "db", "etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := stStartEtcd(t)
	e, err := datastore.OpenEtcd(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	rev, err := e.Create(ctx, sb.Key, stKV(t, sb).Value)
	if err != nil {
		t.Fatal(err)
	}
	in := stInput(sb, stage, ViaEtcd)
	in.Access.Etcd, in.NodeName = cfg, "server-1"
	return in, e, rev
}

// TestLoadEtcdSnapshot: on embedded etcd the load snapshots etcd through
// its own connection before the write, into k3s's snapshot dir; the
// snapshot holds the value before the load, its hash checks, and the
// printed restore command hands k3s exactly that file. A dry run takes
// nothing.
func TestLoadEtcdSnapshot(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	in, e, seedRev := stEmbedded(t, sb, stage)
	snapDir := filepath.Join(sb.ServerDir, "db", "snapshots")
	wantName := snapshotName("server-1", in.Now)

	dry := in
	dry.DryRun = true
	dl := NewLoad(dry)
	plan, err := dl.Preview(ctx)
	dl.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := dl.Plan().Copy
	if c.Kind != CopyEtcdSnapshot || c.Taken || c.Name != wantName || c.Path != filepath.Join(snapDir, wantName) || c.DBSize <= 0 {
		t.Fatalf("planned copy %+v, want snapshot %s in %s with etcd's db size", c, wantName, snapDir)
	}
	if !strings.Contains(stPlanText(t, plan), c.Path) || !strings.Contains(stPlanText(t, plan), c.Restore) {
		t.Errorf("plan does not name the snapshot and how to restore it:\n%s", plan)
	}
	for _, p := range []string{snapDir, BackupDir(sb.DataDir)} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("dry run created %s (%v)", p, err)
		}
	}

	l := NewLoad(in)
	defer l.Close()
	sum, err := l.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c = l.Result().Copy
	if c == nil || !c.Taken || c.Path != filepath.Join(snapDir, wantName) {
		t.Fatalf("copy %+v", c)
	}
	fi, err := os.Stat(c.Path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != c.Size {
		t.Fatalf("snapshot %v: %v, want 0600 and %d bytes", fi, err, c.Size)
	}
	if h, err := datastore.VerifySnapshot(c.Path); err != nil || h != c.SHA256 {
		t.Errorf("snapshot hash %s, %v; recorded %s", h, err, c.SHA256)
	}
	value, rev, ok := testservers.SnapshotValue(t, c.Path, sb.Key)
	if old := stKV(t, sb); !ok || rev != seedRev || !bytes.Equal(value, old.Value) {
		t.Errorf("the snapshot holds revision %d (found %t), want the value before the load at %d", rev, ok, seedRev)
	}
	if now, err := e.Get(ctx, sb.Key); err != nil || now.ModRevision <= seedRev {
		t.Errorf("etcd was not written: %+v %v", now, err)
	}
	if !strings.Contains(sum, c.Path) || !strings.Contains(c.HowToRestore, c.Restore) {
		t.Errorf("summary lacks the snapshot or its restore: %s", sum)
	}
	list, err := ListBackups(sb.DataDir)
	if err != nil || len(list) != 1 || list[0].DatastoreCopy == nil || *list[0].DatastoreCopy != *c {
		t.Fatalf("backups list %+v, %v; want the snapshot %+v", list, err, c)
	}

	// The printed restore: a stand-in k3s records the argv a shell hands
	// it; k3s's CLI would get --cluster-reset and the snapshot's path, which
	// must be the snapshot, intact.
	bin := t.TempDir()
	argsFile := filepath.Join(bin, "args")
	if err := os.WriteFile(filepath.Join(bin, "k3s"), []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+argsFile+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stRunShell(t, c.Restore, bin)
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimSuffix(string(args), "\n"), "\n")
	want := []string{"server", "--cluster-reset", "--cluster-reset-restore-path=" + c.Path, "--data-dir=" + sb.DataDir}
	if strings.Join(argv, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("k3s got %q, want %q", argv, want)
	}
	restorePath := strings.TrimPrefix(argv[2], "--cluster-reset-restore-path=")
	if _, err := datastore.VerifySnapshot(restorePath); err != nil {
		t.Errorf("the path handed to k3s is not the intact snapshot: %v", err)
	}

	// Restoring the bootstrap backup snapshots etcd first as well.
	loaded, err := e.Get(ctx, sb.Key)
	if err != nil {
		t.Fatal(err)
	}
	rin := RestoreInput{DataDir: sb.DataDir, BackupPath: l.Result().Backup, Access: in.Access, Now: in.Now.Add(time.Hour), NodeName: "server-1"}
	r := NewRestore(rin)
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rc := r.Copy()
	if rc == nil || !rc.Taken || rc.Path != filepath.Join(snapDir, snapshotName("server-1", rin.Now)) {
		t.Fatalf("restore's copy %+v", rc)
	}
	if _, rev, ok := testservers.SnapshotValue(t, rc.Path, sb.Key); !ok || rev != loaded.ModRevision {
		t.Errorf("the restore's snapshot holds revision %d, want the loaded value at %d", rev, loaded.ModRevision)
	}
}

// TestLoadEtcdSnapshotFails: a snapshot that cannot be written stops the
// load before anything is written, and the error says so.
func TestLoadEtcdSnapshotFails(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	in, e, seedRev := stEmbedded(t, sb, sandboxtest.Stage(t, sb))
	// A file where k3s's snapshot dir belongs.
	if err := os.WriteFile(filepath.Join(sb.ServerDir, "db", "snapshots"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l := NewLoad(in)
	defer l.Close()
	_, err := l.Run(ctx)
	if !errors.Is(err, ErrSafetyNet) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("run: %v, want ErrSafetyNet saying nothing was written", err)
	}
	if got, err := e.Get(ctx, sb.Key); err != nil || got.ModRevision != seedRev {
		t.Errorf("etcd moved to %d (%v), want %d", got.ModRevision, err, seedRev)
	}
	if l.Result().State != WriteNone || l.Result().Backup != "" || l.Result().Copy != nil {
		t.Errorf("result %+v, want nothing written, no backup, no copy", l.Result())
	}
	if _, err := os.Stat(BackupDir(sb.DataDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a backup was written: %v", err)
	}
}

// TestPlanCopyExternal: on an external etcd or SQL database only the
// bootstrap value is backed up, and the plan says why.
func TestPlanCopyExternal(t *testing.T) {
	tests := []struct {
		store Store
		want  string
	}{
		{StoreExternalEtcd, "external etcd"},
		{StoreExternalSQL, "external SQL database"},
		{StoreUnknown, "neither server/db/state.db"},
	}
	for _, tt := range tests {
		t.Run(string(tt.store), func(t *testing.T) {
			c, err := planCopy(context.Background(), Access{Store: tt.store}, nil, "n", testkit.Now)
			if err != nil || c.Kind != CopyNone || !strings.HasPrefix(c.Skipped, "only the bootstrap value and server/tls are backed up: ") || !strings.Contains(c.Skipped, tt.want) {
				t.Errorf("copy %+v, want none because of %q", c, tt.want)
			}
		})
	}
}

// TestLoadEtcdSnapshotNeverOverwrites: a snapshot of the same name (a
// write in the same second) is kept; the new one takes the next second.
func TestLoadEtcdSnapshotNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	in, _, _ := stEmbedded(t, sb, sandboxtest.Stage(t, sb))
	dir := filepath.Join(sb.ServerDir, "db", "snapshots")
	earlier := filepath.Join(dir, snapshotName("server-1", in.Now))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(earlier, []byte("an earlier snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := NewLoad(in)
	defer l.Close()
	if _, err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := l.Result().Copy
	if want := filepath.Join(dir, snapshotName("server-1", in.Now.Add(time.Second))); c.Path != want || !strings.Contains(c.Restore, want) {
		t.Errorf("snapshot %s (restore %s), want %s", c.Path, c.Restore, want)
	}
	if b, _ := os.ReadFile(earlier); string(b) != "an earlier snapshot" {
		t.Errorf("the earlier snapshot was overwritten")
	}
}
