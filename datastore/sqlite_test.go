package datastore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// kineRow is one raw row of the kine table, with SQLite storage classes.
type kineRow struct {
	Name                      string
	Created, Deleted          int64
	CreateRev                 sql.NullInt64
	PrevRev, Lease            int64
	Value, OldValue           []byte
	NameType, ValueType, CRTy string
}

func readRow(t *testing.T, dbPath string, id int64) kineRow {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var r kineRow
	err = db.QueryRow(`SELECT name, created, deleted, create_revision, prev_revision, lease, value, old_value,
		typeof(name), typeof(value), typeof(create_revision) FROM kine WHERE id = ?`, id).
		Scan(&r.Name, &r.Created, &r.Deleted, &r.CreateRev, &r.PrevRev, &r.Lease, &r.Value, &r.OldValue, &r.NameType, &r.ValueType, &r.CRTy)
	if err != nil {
		t.Fatalf("row %d: %v", id, err)
	}
	return r
}

func rowCount(t *testing.T, dbPath string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM kine`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenSQLiteRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	noKine := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", noKine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not sqlite "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.db")
	tests := []struct {
		name string
		path string
		is   error
	}{
		{"missing file", missing, fs.ErrNotExist},
		{"no kine table", noKine, ErrKineTableMissing},
		{"not a database", garbage, nil},
		{"directory", dir, ErrNotRegular},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSQLite(ctx, tc.path, 0)
			if err == nil {
				_ = s.Close()
				t.Fatal("opened")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Error("OpenSQLite created the missing file")
	}
}

func TestSQLiteListAndErrors(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "state.db")
	s := newKineFile(t, dbPath)
	defer s.Close()
	revs := map[string]int64{}
	var err error
	for _, k := range []string{"/bootstrap/652c7dc687d9", "/bootstraq", "/bootstrap/e3b0c44298fc", "/bootstrap", "/bootstrao/x", "/registry/health", "/bootstrap0"} {
		if revs[k], err = s.Create(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(ctx, "/bootstrap/e3b0c44298fc", revs["/bootstrap/e3b0c44298fc"], []byte{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, prefix string
		want         []string
	}{
		{"k3s lists /bootstrap without slash", BootstrapPrefix, []string{"/bootstrap", "/bootstrap/652c7dc687d9", "/bootstrap/e3b0c44298fc", "/bootstrap0"}},
		{"with slash: two bootstrap keys", BootstrapPrefix + "/", []string{"/bootstrap/652c7dc687d9", "/bootstrap/e3b0c44298fc"}},
		{"no match", "/nothing", nil},
		{"everything", "", []string{"/bootstrao/x", "/bootstrap", "/bootstrap/652c7dc687d9", "/bootstrap/e3b0c44298fc", "/bootstrap0", "/bootstraq", "/registry/health"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kvs, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, kv := range kvs {
				names = append(names, kv.Key)
				if kv.CreateRevision != revs[kv.Key] {
					t.Errorf("%s CreateRevision %d, want %d", kv.Key, kv.CreateRevision, revs[kv.Key])
				}
			}
			if len(names) != len(tc.want) {
				t.Fatalf("List(%q) = %v, want %v", tc.prefix, names, tc.want)
			}
			for i := range names {
				if names[i] != tc.want[i] {
					t.Fatalf("List(%q) = %v, want %v", tc.prefix, names, tc.want)
				}
			}
		})
	}
	lock, err := s.Get(ctx, "/bootstrap/e3b0c44298fc")
	if err != nil || len(lock.Value) != 0 || lock.ModRevision == lock.CreateRevision {
		t.Errorf("emptied key: %+v, %v", lock, err)
	}
	errs := []struct {
		name string
		op   func() error
		is   error
	}{
		{"get wrong key", func() error { _, err := s.Get(ctx, "/bootstrap/000000000000"); return err }, ErrKeyNotFound},
		{"update wrong key", func() error { _, err := s.Update(ctx, "/bootstrap/000000000000", 1, []byte("x")); return err }, ErrRevisionMismatch},
		{"update stale", func() error {
			_, err := s.Update(ctx, "/bootstrap/e3b0c44298fc", revs["/bootstrap/e3b0c44298fc"], []byte("x"))
			return err
		}, ErrRevisionMismatch},
		{"update future", func() error { _, err := s.Update(ctx, "/bootstraq", revs["/bootstraq"]+100, []byte("x")); return err }, ErrRevisionMismatch},
		{"create existing", func() error { _, err := s.Create(ctx, "/bootstraq", []byte("x")); return err }, ErrKeyExists},
		{"cancelled", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.Update(c, "/bootstraq", revs["/bootstraq"], []byte("x"))
			return err
		}, context.Canceled},
	}
	for _, tc := range errs {
		if err := tc.op(); !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
		}
	}
	if got, _ := s.Get(ctx, "/bootstraq"); got.ModRevision != revs["/bootstraq"] {
		t.Errorf("a refused write changed /bootstraq: %+v", got)
	}
}

// TestSQLiteConcurrentCAS: two handles (as two processes would) race to
// update at the same revision; BEGIN IMMEDIATE lets exactly one win.
func TestSQLiteConcurrentCAS(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "state.db")
	if err := InitKineDB(ctx, dbPath); err != nil {
		t.Fatal(err)
	}
	var handles [4]*SQLite
	for i := range handles {
		s, err := OpenSQLite(ctx, dbPath, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		handles[i] = s
	}
	rev, err := handles[0].Create(ctx, "/bootstrap/652c7dc687d9", []byte("v0"))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(handles))
	for i, s := range handles {
		go func() {
			_, err := s.Update(ctx, "/bootstrap/652c7dc687d9", rev, []byte{'v', byte('1' + i)})
			errs <- err
		}()
	}
	wins := 0
	for range handles {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrRevisionMismatch):
			t.Errorf("loser: %v, want ErrRevisionMismatch", err)
		}
	}
	if wins != 1 || rowCount(t, dbPath) != 2 {
		t.Errorf("%d winners, %d rows; want 1 winner, 2 rows", wins, rowCount(t, dbPath))
	}
	if err := handles[1].IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

func TestSQLiteIntegrityCheckCorrupt(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "state.db")
	s := newKineFile(t, dbPath)
	for i := range 200 {
		if _, err := s.Create(ctx, fmt.Sprintf("/registry/k%04d", i), bytes.Repeat([]byte{'x'}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	f, err := os.OpenFile(dbPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	// Scribble over the middle of the last page (an index page).
	if _, err := f.WriteAt(bytes.Repeat([]byte{0x5a}, 512), fi.Size()-2048); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	s, err = OpenSQLite(ctx, dbPath, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err == nil {
		t.Error("IntegrityCheck passed a corrupted file")
	} else {
		t.Logf("IntegrityCheck: %v", err)
	}
}

// TestSQLiteRowFormat pins the exact rows Create and Update append: kine
// v0.16's format (create_revision 0, never NULL, on a create row), which
// kine v0.16.x and v0.17.x both read. Create and Update on top of rows that
// store NULL (kine v0.17, older k3sca) still work.
func TestSQLiteRowFormat(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "state.db")
	s := newKineFile(t, dbPath)
	defer s.Close()
	const a, b = "/bootstrap/aaaaaaaaaaaa", "/bootstrap/bbbbbbbbbbbb"
	zero := sql.NullInt64{Valid: true}
	rev := func(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: true} }

	a1 := sqlCreate(t, s, a, []byte("a1"))
	a2 := sqlUpdate(t, s, a, a1, []byte("a2"))
	a3 := sqlUpdate(t, s, a, a2, nil)
	del := rawInsert(t, dbPath, a, 0, 1, int64(0), a3, nil, []byte{}) // kine v0.16's delete row
	a5 := sqlCreate(t, s, a, []byte("a5"))
	b1 := rawInsert(t, dbPath, b, 1, 0, nil, 0, []byte("b1"), nil) // kine v0.17's create row
	b2 := sqlUpdate(t, s, b, b1, []byte("b2"))
	b3 := sqlUpdate(t, s, b, b2, []byte("b3"))

	tests := []struct {
		name string
		id   int64
		want kineRow
	}{
		{"create", a1, kineRow{Name: a, Created: 1, CreateRev: zero, Value: []byte("a1")}},
		{"update of a create row", a2, kineRow{Name: a, CreateRev: rev(a1), PrevRev: a1, Value: []byte("a2"), OldValue: []byte("a1")}},
		{"update to empty", a3, kineRow{Name: a, CreateRev: rev(a1), PrevRev: a2, Value: []byte{}, OldValue: []byte("a2")}},
		{"create after delete", a5, kineRow{Name: a, Created: 1, CreateRev: zero, PrevRev: del, Value: []byte("a5")}},
		{"update of a NULL create row", b2, kineRow{Name: b, CreateRev: rev(b1), PrevRev: b1, Value: []byte("b2"), OldValue: []byte("b1")}},
		{"update of an update", b3, kineRow{Name: b, CreateRev: rev(b1), PrevRev: b2, Value: []byte("b3"), OldValue: []byte("b2")}},
	}
	for _, tc := range tests {
		got := readRow(t, dbPath, tc.id)
		tc.want.NameType, tc.want.ValueType, tc.want.CRTy = "text", "blob", "integer"
		if !equalRows(got, tc.want) {
			t.Errorf("%s: row %d\n got  %+v\n want %+v", tc.name, tc.id, got, tc.want)
		}
	}

	reads := []struct {
		key  string
		want KV
	}{
		{a, KV{Key: a, Value: []byte("a5"), ModRevision: a5, CreateRevision: a5}},
		{b, KV{Key: b, Value: []byte("b3"), ModRevision: b3, CreateRevision: b1}},
	}
	for _, r := range reads {
		if got, err := s.Get(ctx, r.key); err != nil || !equalKV(got, r.want) {
			t.Errorf("Get(%s) = %+v, %v; want %+v", r.key, got, err, r.want)
		}
	}
	// A NULL create row that is still the latest row reads as created at its id.
	c := "/bootstrap/cccccccccccc"
	c1 := rawInsert(t, dbPath, c, 1, 0, nil, 0, []byte("c1"), nil)
	kvs, err := s.List(ctx, c)
	if err != nil || len(kvs) != 1 || !equalKV(kvs[0], KV{Key: c, Value: []byte("c1"), ModRevision: c1, CreateRevision: c1}) {
		t.Errorf("List(%s) = %+v, %v", c, kvs, err)
	}
}

// rawInsert appends a row to the kine table verbatim (createRev nil stores
// NULL) and returns its id: rows as other kine versions or older k3sca wrote them.
func rawInsert(t *testing.T, dbPath, name string, created, deleted int64, createRev any, prev int64, value, oldValue []byte) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, name, created, deleted, createRev, prev, value, oldValue)
	if err != nil {
		t.Fatalf("raw insert %s: %v", name, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newKineFile creates a kine state.db at dbPath as k3s does and opens it;
// the caller closes it.
func newKineFile(t *testing.T, dbPath string) *SQLite {
	t.Helper()
	if err := InitKineDB(context.Background(), dbPath); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(context.Background(), dbPath, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sqlCreate(t *testing.T, s *SQLite, key string, value []byte) int64 {
	t.Helper()
	rev, err := s.Create(context.Background(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func sqlUpdate(t *testing.T, s *SQLite, key string, rev int64, value []byte) int64 {
	t.Helper()
	rev, err := s.Update(context.Background(), key, rev, value)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func equalKV(a, b KV) bool {
	return a.Key == b.Key && bytes.Equal(a.Value, b.Value) && a.ModRevision == b.ModRevision && a.CreateRevision == b.CreateRevision
}
