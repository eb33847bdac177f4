package datastore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
)

// TestSaveSnapshotRealEtcd takes a snapshot of a real etcd through the
// backend's own connection and reads the value back out of the file as
// etcd's restore does; a later write is not in it.
func TestSaveSnapshotRealEtcd(t *testing.T) {
	ctx := context.Background()
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "mtls"}[tls], func(t *testing.T) {
			cfg, stop := startEtcd(t, tls)
			defer stop()
			e, err := OpenEtcd(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			const key = "/bootstrap/0123456789ab"
			rev, err := e.Create(ctx, key, []byte("before"))
			if err != nil {
				t.Fatal(err)
			}
			st, err := e.Status(ctx)
			if err != nil || !st.IsEtcd() || st.DBSize <= 0 {
				t.Fatalf("status %+v, %v: want a member ID and a db size", st, err)
			}
			path := filepath.Join(t.TempDir(), "snapshots", "k3sca-node-1")
			snap, err := e.SaveSnapshot(ctx, path, 0o600, testkit.Now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Update(ctx, key, rev, []byte("after")); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 || fi.Size() != snap.Size || !fi.ModTime().Equal(testkit.Now) {
				t.Errorf("snapshot file %v %d bytes mtime %v, want 0600, %d bytes, %v", fi.Mode(), fi.Size(), fi.ModTime(), snap.Size, testkit.Now)
			}
			sum, err := VerifySnapshot(path)
			if err != nil || sum != snap.SHA256 {
				t.Errorf("verify: %s, %v; want %s", sum, err, snap.SHA256)
			}
			got, gotRev, ok := testservers.SnapshotValue(t, path, key)
			if !ok || string(got) != "before" || gotRev != rev {
				t.Errorf("snapshot holds %q at %d (ok %t), want \"before\" at %d", got, gotRev, ok, rev)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("snapshot dir holds %d entries, want only the snapshot (no temp file)", len(entries))
			}
		})
	}
}

func TestVerifySnapshotRefusesDamage(t *testing.T) {
	ctx := context.Background()
	cfg, stop := startEtcd(t, false)
	defer stop()
	e, err := OpenEtcd(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	path := filepath.Join(t.TempDir(), "snap")
	if _, err := e.SaveSnapshot(ctx, path, 0o600, testkit.Now); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"one byte flipped", func() []byte { b := bytes.Clone(good); b[100] ^= 1; return b }()},
		{"trailer cut off", good[:len(good)-32]},
		{"truncated", good[:len(good)/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "snap")
			if err := os.WriteFile(p, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifySnapshot(p); !errors.Is(err, ErrSnapshotHash) {
				t.Errorf("verify: %v, want ErrSnapshotHash", err)
			}
		})
	}
}

// TestSaveSnapshotKine: kine answers the etcd API but has no snapshot; it
// is told apart by its empty status header and nothing is written.
func TestSaveSnapshotKine(t *testing.T) {
	ctx := context.Background()
	ep, stop := startKine(t, filepath.Join(t.TempDir(), "state.db"))
	defer stop()
	e, err := OpenEtcd(ctx, EtcdConfig{Endpoints: []string{ep}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st, err := e.Status(ctx)
	if err != nil || st.IsEtcd() {
		t.Fatalf("kine status %+v, %v: want no member ID", st, err)
	}
	dir := t.TempDir()
	if _, err := e.SaveSnapshot(ctx, filepath.Join(dir, "snap"), 0o600, testkit.Now); !errors.Is(err, ErrNotEtcd) {
		t.Errorf("snapshot of kine: %v, want ErrNotEtcd", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("kine snapshot left %d files", len(entries))
	}
}
