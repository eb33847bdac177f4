package datastore

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testservers"
)

// kine016ScanNULL is kine v0.16.x's error on a row whose create_revision is
// NULL: it scans the column into an int64.
const kine016ScanNULL = `converting NULL to int64 is unsupported`

// TestSQLiteReadByKine016: what k3sca writes directly into state.db is read
// by kine v0.16.4 (k3s v1.36) and, on the same file afterwards, by kine
// v0.17.5. A create row with NULL create_revision (what kine v0.17 and
// earlier k3sca wrote) is shown to break kine v0.16.4.
func TestSQLiteReadByKine016(t *testing.T) {
	ctx := context.Background()
	key := StorageKey("kine016")
	v0, v1, v2 := []byte("salt0:create"), []byte("salt1:load"), []byte("salt2:again")
	tests := []struct {
		name string
		// write fills the fresh database and returns the key's expected state.
		write func(t *testing.T, s *SQLite, dbPath string) KV
		// kine016Err is part of kine v0.16.4's expected error; "" means it reads the key.
		kine016Err string
	}{
		{"create (a sandbox's first write)", func(t *testing.T, s *SQLite, _ string) KV {
			r0 := sqlCreate(t, s, key, v0)
			return KV{Key: key, Value: v0, ModRevision: r0, CreateRevision: r0}
		}, ""},
		{"create then update (a load)", func(t *testing.T, s *SQLite, _ string) KV {
			r0 := sqlCreate(t, s, key, v0)
			r1 := sqlUpdate(t, s, key, r0, v1)
			return KV{Key: key, Value: v1, ModRevision: r1, CreateRevision: r0}
		}, ""},
		{"create, update, update", func(t *testing.T, s *SQLite, _ string) KV {
			r0 := sqlCreate(t, s, key, v0)
			r1 := sqlUpdate(t, s, key, r0, v1)
			r2 := sqlUpdate(t, s, key, r1, v2)
			return KV{Key: key, Value: v2, ModRevision: r2, CreateRevision: r0}
		}, ""},
		{"create after a kine delete", func(t *testing.T, s *SQLite, dbPath string) KV {
			r0 := sqlCreate(t, s, key, v0)
			rawInsert(t, dbPath, key, 0, 1, int64(0), r0, nil, v0) // kine v0.16's delete row
			r2 := sqlCreate(t, s, key, v1)
			return KV{Key: key, Value: v1, ModRevision: r2, CreateRevision: r2}
		}, ""},
		{"update over a NULL create row (an older file)", func(t *testing.T, s *SQLite, dbPath string) KV {
			r0 := rawInsert(t, dbPath, key, 1, 0, nil, 0, v0, nil)
			r1 := sqlUpdate(t, s, key, r0, v1)
			return KV{Key: key, Value: v1, ModRevision: r1, CreateRevision: r0}
		}, ""},
		{"NULL create row as the latest row fails in kine v0.16.4", func(t *testing.T, _ *SQLite, dbPath string) KV {
			r0 := rawInsert(t, dbPath, key, 1, 0, nil, 0, v0, nil) // kine v0.17's create row
			return KV{Key: key, Value: v0, ModRevision: r0, CreateRevision: r0}
		}, kine016ScanNULL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dbPath := filepath.Join(t.TempDir(), "db", "state.db")
			s := newKineFile(t, dbPath)
			want := tc.write(t, s, dbPath)
			if got, err := s.Get(ctx, key); err != nil || !equalKV(got, want) {
				t.Errorf("our Get = %+v, %v; want %+v", got, err, want)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// kine v0.16.4 first: once kine v0.17 has served a file its
			// compact_rev_key row has a NULL create_revision too.
			got, err := testservers.Kine016TryGet(t, dbPath, key)
			switch {
			case tc.kine016Err != "":
				if err == nil || !strings.Contains(err.Error(), tc.kine016Err) || !strings.Contains(err.Error(), "create_revision") {
					t.Errorf("kine v0.16.4 read %+v, %v; want an error with %q", got, err, tc.kine016Err)
				} else {
					t.Logf("kine v0.16.4 fails as expected: %v", err)
				}
			case err != nil:
				t.Errorf("kine v0.16.4: %v", err)
			case !bytes.Equal(got.Value, want.Value) || got.ModRevision != want.ModRevision || got.CreateRevision != want.CreateRevision:
				t.Errorf("kine v0.16.4 serves %q mod %d create %d; want %q mod %d create %d",
					got.Value, got.ModRevision, got.CreateRevision, want.Value, want.ModRevision, want.CreateRevision)
			}

			ep, stop := startKine(t, dbPath)
			cli := kineClient(t, ep)
			val, mod, cr := kineGet(t, cli, key)
			_ = cli.Close()
			stop()
			if !bytes.Equal(val, want.Value) || mod != want.ModRevision || cr != want.CreateRevision {
				t.Errorf("kine v0.17.5 serves %q mod %d create %d; want %q mod %d create %d",
					val, mod, cr, want.Value, want.ModRevision, want.CreateRevision)
			}
		})
	}
}

// TestKine017FileBreaksKine016 documents a kine limitation, not ours: kine
// v0.17 writes its compact_rev_key row with a NULL create_revision on first
// start, and kine v0.16.4 then cannot start on that file at all. A state.db
// handed to k3s v1.36 must never have been served by kine v0.17.
func TestKine017FileBreaksKine016(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "db", "state.db")
	s := newKineFile(t, dbPath)
	key := StorageKey("kine017")
	sqlCreate(t, s, key, []byte("v"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, stop := startKine(t, dbPath)
	stop()
	got, err := testservers.Kine016TryGet(t, dbPath, key)
	if err == nil || !strings.Contains(err.Error(), kine016ScanNULL) {
		t.Fatalf("kine v0.16.4 after kine v0.17.5: %+v, %v; want the NULL scan error", got, err)
	}
	t.Logf("kine v0.16.4 after kine v0.17.5: %v", err)
}
