package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestBackupNamesConcurrent: backups of the same second and revision made
// at once all succeed under distinct names, each complete.
func TestBackupNamesConcurrent(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	kv := stKV(t, sb)
	const n = 16
	var wg sync.WaitGroup
	paths := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			b, err := saveBackup(ctx, sb.DataDir, kv, "", "", ViaSQLite, testkit.Now, nil)
			if err == nil {
				paths[i] = b.Path
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("backup %d: %v", i, err)
		}
	}
	slices.Sort(paths)
	if len(slices.Compact(slices.Clone(paths))) != n {
		t.Errorf("backup names collide: %v", paths)
	}
	list, err := ListBackups(sb.DataDir)
	if err != nil || len(list) != n {
		t.Fatalf("ListBackups: %d, %v; want %d", len(list), err, n)
	}
	for _, b := range list {
		if _, err := os.Stat(filepath.Join(b.TLSCopy, "server-ca.key")); err != nil {
			t.Errorf("backup %s has no complete tls copy: %v", b.Path, err)
		}
	}
	if inc, err := IncompleteBackups(sb.DataDir); err != nil || len(inc) != 0 {
		t.Errorf("incomplete pieces after concurrent backups: %v, %v", inc, err)
	}
}

// TestIncompleteBackups: what a killed run leaves in the backup dir is
// listed as incomplete, never as a backup, and the next load removes it
// and says so.
func TestIncompleteBackups(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	complete, err := saveBackup(ctx, sb.DataDir, stKV(t, sb), "", "", ViaSQLite, testkit.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := BackupDir(sb.DataDir)
	key, err := os.ReadFile(filepath.Join(sb.ServerDir, "tls", "server-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	pieces := map[string]string{
		".incomplete-1795780800-1-123/tls/server-ca.key": string(key), // killed while copying
		"1795780700-1-tls/server-ca.key":                 string(key), // the earlier layout, killed before its .json
		".1795780700-1.json.tmp-42":                      "{",         // a torn temporary file
		"1795780600-1/tls/server-ca.key":                 string(key), // a folder without backup.json
	}
	var want []string
	for rel, content := range pieces {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		want = append(want, filepath.Join(dir, strings.Split(rel, "/")[0]))
	}
	slices.Sort(want)
	// An etcd snapshot whose download was killed, in k3s's snapshot dir.
	snap := filepath.Join(sb.ServerDir, "db", "snapshots", ".k3sca-server-1-1795780800.tmp-99")
	if err := os.MkdirAll(filepath.Dir(snap), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap, []byte("etcd"), 0o600); err != nil {
		t.Fatal(err)
	}
	want = append(want, snap)
	list, err := ListBackups(sb.DataDir)
	if err != nil || len(list) != 1 || list[0].Path != complete.Path {
		t.Fatalf("ListBackups: %v, %v; want only %s", list, err, complete.Path)
	}
	inc, err := IncompleteBackups(sb.DataDir)
	if err != nil || !slices.Equal(inc, want) {
		t.Fatalf("IncompleteBackups:\n%v, %v\nwant\n%v", inc, err, want)
	}
	l := NewLoad(stInput(sb, sandboxtest.Stage(t, sb), ViaSQLite))
	sum, err := l.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum, "removed 5 incomplete backups") {
		t.Errorf("the load does not say it removed the incomplete backups: %q", sum)
	}
	if inc, _ := IncompleteBackups(sb.DataDir); len(inc) != 0 {
		t.Errorf("left after the load: %v", inc)
	}
	if list, _ := ListBackups(sb.DataDir); len(list) != 2 {
		t.Errorf("complete backups after the load: %d, want 2", len(list))
	}
}

// TestListBackupEntries: complete and incomplete backups in one list,
// newest first, with what each recorded; an incomplete one is dated by
// its name.
func TestListBackupEntries(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	kv := stKV(t, sb)
	old, err := saveBackup(ctx, sb.DataDir, kv, "", "", ViaSQLite, testkit.Now.Add(-2*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	recent, err := saveBackup(ctx, sb.DataDir, kv, "0f1e2d", "", ViaSQLite, testkit.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(BackupDir(sb.DataDir), fmt.Sprintf("%s%d-7-123", incompletePrefix, testkit.Now.Add(-time.Hour).Unix()))
	nameless := filepath.Join(BackupDir(sb.DataDir), ".tmp-9")
	for _, d := range []string{killed, nameless} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ListBackupEntries(sb.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	want := []BackupEntry{
		{Path: recent.Path, Created: testkit.Now.UTC(), Revision: kv.ModRevision, Key: kv.Key, Via: "sqlite", CAHash: "0f1e2d"},
		{Path: killed, Created: testkit.Now.Add(-time.Hour).UTC(), Revision: 7, Incomplete: true},
		{Path: old.Path, Created: testkit.Now.Add(-2 * time.Hour).UTC(), Revision: kv.ModRevision, Key: kv.Key, Via: "sqlite"},
		{Path: nameless, Incomplete: true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Created.Equal(want[i].Created) {
			t.Errorf("entry %d created %v, want %v", i, got[i].Created, want[i].Created)
		}
		got[i].Created = want[i].Created
		if (got[i].Backup == nil) != want[i].Incomplete || (got[i].Backup != nil && got[i].Backup.Path != got[i].Path) {
			t.Errorf("entry %d carries the record %+v", i, got[i].Backup)
		}
		got[i].Backup = nil
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
