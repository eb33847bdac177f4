package datastore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/k3sca/k3sca/fsutil"
)

// ErrKineTableMissing: the SQLite file has no kine table, so it is not (or
// not yet) a k3s datastore.
var ErrKineTableMissing = errors.New("the database has no kine table; is this k3s's server/db/state.db?")

// ErrNotRegular: the SQLite path is a directory or another non-regular file.
var ErrNotRegular = errors.New("not a regular file")

// kineInsertSQL appends one row the way kine v0.16.x (k3s v1.36) writes it,
// so kine v0.16.x and v0.17.x both read it. Arguments: prev_revision, name,
// created, deleted, prev_revision, lease, value, name, prev_revision.
//
// It is kine v0.17.5's guarded insert (pkg/drivers/generic) except for
// create_revision: v0.17 stores NULL for a create row, and kine v0.16.x
// scans create_revision into an int64, so it fails on any NULL ("converting
// NULL to int64 is unsupported"). Here a create row (no live previous row:
// a new name, or one whose latest row is a delete) stores 0, as kine v0.16
// does; an update stores the previous row's create_revision or, if that is
// NULL/0 (a create row), its id. old_value is the previous live value (NULL
// for a create). The WHERE clause writes nothing unless the name's latest id
// is prev_revision.
const kineInsertSQL = `
		INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)
		WITH
		ikv AS (SELECT id, create_revision, value FROM kine WHERE id = ? AND deleted = 0)
		SELECT ?, ?, ?, COALESCE((SELECT COALESCE(NULLIF(create_revision, 0), id) FROM ikv), 0), ?, ?, ?, (SELECT value FROM ikv)
		WHERE COALESCE((SELECT MAX(id) FROM kine WHERE name = ?), 0) = ?
		`

const latestRowSQL = `SELECT id, created, deleted, create_revision, value FROM kine
	WHERE id = (SELECT MAX(id) FROM kine WHERE name = ?)`

// DefaultBusyTimeout is how long a SQLite call waits for a lock another
// process holds on state.db before it fails with ErrBusy.
const DefaultBusyTimeout = 30 * time.Second

// ErrBusy: another process holds a lock on the SQLite file (SQLITE_BUSY)
// for longer than the busy timeout.
var ErrBusy = errors.New("the database file is locked by another process (SQLITE_BUSY)")

// busy marks SQLITE_BUSY errors with ErrBusy.
func busy(err error) error {
	if err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

// SQLite is a Backend on kine's SQLite file, opened in place. It must only
// be written while k3s (and so kine) is stopped.
type SQLite struct {
	db   *sql.DB
	path string
}

var _ Backend = (*SQLite)(nil)

// OpenSQLite opens kine's state.db in place (never a copy: committed data
// may still live in the -wal file) with modernc.org/sqlite, busy (a wait
// for another process's lock; DefaultBusyTimeout when 0) and the file's own
// journal mode (WAL is kept). It never creates a
// file, and refuses one without a kine table with ErrKineTableMissing.
func OpenSQLite(ctx context.Context, path string, busy time.Duration) (*SQLite, error) {
	return openSQLite(ctx, path, "mode=rw", busy)
}

// OpenSQLiteReadOnly opens state.db for reading only, for dry runs: it
// creates, checkpoints and deletes nothing. Without a -wal file the database
// is opened immutable (no -wal or -shm is created); with one, read-only so
// the committed pages in the WAL are still read. busy is as for OpenSQLite.
func OpenSQLiteReadOnly(ctx context.Context, path string, busy time.Duration) (*SQLite, error) {
	return openSQLite(ctx, path, readOnlyMode(path), busy)
}

// readOnlyMode is the URI mode that reads a database without writing
// anything beside it: immutable without a -wal file, else read-only so
// the committed pages in the WAL are read too.
func readOnlyMode(path string) string {
	if _, err := os.Stat(path + "-wal"); err == nil {
		return "mode=ro"
	}
	return "mode=ro&immutable=1"
}

// CopySQLite writes a consistent copy of the SQLite database src to the
// new file dst with VACUUM INTO: one read transaction, so the copy is a
// snapshot even while kine writes, WAL included. src is read as
// OpenSQLiteReadOnly reads it (nothing is created next to it); dst's
// directory is created. dst is written by SQLite with the process's umask:
// the caller sets its mode.
func CopySQLite(ctx context.Context, src, dst string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("copy database %s: %w", src, err)
	}
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + readOnlyMode(abs) + "&_pragma=busy_timeout(" + strconv.FormatInt(DefaultBusyTimeout.Milliseconds(), 10) + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("copy database %s: %w", abs, err)
	}
	defer db.Close()
	if err := os.MkdirAll(filepath.Dir(dst), fsutil.ModeDir); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copy database %s with VACUUM INTO: %w", abs, busy(err))
	}
	return nil
}

func openSQLite(ctx context.Context, path, mode string, busyTimeout time.Duration) (*SQLite, error) {
	if busyTimeout <= 0 {
		busyTimeout = DefaultBusyTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open sqlite %s: %w", abs, ErrNotRegular)
	}
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + mode + "&_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", abs, err)
	}
	// One connection: every call is short and BEGIN IMMEDIATE serializes anyway.
	db.SetMaxOpenConns(1)
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'kine'`).Scan(&n)
	if err == nil && n == 0 {
		err = ErrKineTableMissing
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", abs, busy(err))
	}
	return &SQLite{db: db, path: abs}, nil
}

// Name implements Backend.
func (s *SQLite) Name() string { return "sqlite" }

// Path is the absolute path of the database file.
func (s *SQLite) Path() string { return s.path }

// Close implements Backend.
func (s *SQLite) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close sqlite %s: %w", s.path, err)
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// latest reads the newest row of key. ok is false when there is none.
func latest(ctx context.Context, q queryer, key string) (kv KV, deleted, ok bool, err error) {
	var created, del bool
	var createRev sql.NullInt64
	err = q.QueryRowContext(ctx, latestRowSQL, key).Scan(&kv.ModRevision, &created, &del, &createRev, &kv.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return KV{}, false, false, nil
	}
	if err != nil {
		return KV{}, false, false, err
	}
	kv.Key = key
	kv.CreateRevision = createRevision(kv.ModRevision, created, createRev)
	return kv, del, true, nil
}

// createRevision is what kine reports: a create row's own id (whatever it
// stores: 0 as kine v0.16 and k3sca write, NULL as kine v0.17 writes), else
// the stored create_revision (NULL reads as 0, as kine v0.17's NullInt64 does).
func createRevision(id int64, created bool, stored sql.NullInt64) int64 {
	if created {
		return id
	}
	return stored.Int64
}

// Get implements Backend: the newest row of key, unless it is a delete.
func (s *SQLite) Get(ctx context.Context, key string) (KV, error) {
	kv, deleted, ok, err := latest(ctx, s.db, key)
	if err != nil {
		return KV{}, fmt.Errorf("sqlite get %s: %w", key, busy(err))
	}
	if !ok || deleted {
		return KV{}, fmt.Errorf("sqlite get %s: %w", key, ErrKeyNotFound)
	}
	return kv, nil
}

// prefixEnd is etcd's range end for a prefix: the prefix with its last
// byte incremented ("/bootstrap" -> "/bootstraq"); "" means no end.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// List implements Backend as kine does: the newest row per name in
// [prefix, prefixEnd), live rows only, sorted by name.
func (s *SQLite) List(ctx context.Context, prefix string) ([]KV, error) {
	cond, args := "name >= ?", []any{prefix}
	if end := prefixEnd(prefix); end != "" {
		cond, args = cond+" AND name < ?", append(args, end)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT k.id, k.name, k.created, k.create_revision, k.value
		FROM kine AS k INNER JOIN (SELECT MAX(id) AS id FROM kine WHERE `+cond+` GROUP BY name) AS m USING (id)
		WHERE k.deleted = 0 ORDER BY k.name ASC`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite list %s: %w", prefix, busy(err))
	}
	defer rows.Close()
	var out []KV
	for rows.Next() {
		var kv KV
		var created bool
		var cr sql.NullInt64
		if err := rows.Scan(&kv.ModRevision, &kv.Key, &created, &cr, &kv.Value); err != nil {
			return nil, fmt.Errorf("sqlite list %s: %w", prefix, err)
		}
		kv.CreateRevision = createRevision(kv.ModRevision, created, cr)
		out = append(out, kv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite list %s: %w", prefix, err)
	}
	return out, nil
}

// Create implements Backend with kine's create semantics: a create row as
// kine v0.16 writes it (created=1, deleted=0, create_revision 0, lease 0,
// old_value NULL) whose prev_revision is 0 for a new name or the id of the
// name's delete row; ErrKeyExists if the key is live.
func (s *SQLite) Create(ctx context.Context, key string, value []byte) (int64, error) {
	return s.write(ctx, "create", key, func(cur KV, deleted, ok bool) (prev int64, created bool, err error) {
		if ok && !deleted {
			return 0, false, ErrKeyExists
		}
		return cur.ModRevision, true, nil
	}, value)
}

// Update implements Backend: in one BEGIN IMMEDIATE transaction, if the
// key's newest row is live and has id rev, append one update row exactly as
// kine writes it (created=0, deleted=0, create_revision = the key's create
// revision, prev_revision = rev, lease 0, old_value = the previous value)
// and return its id. Otherwise nothing is written and the error is
// ErrRevisionMismatch (also ErrKeyNotFound when the key is gone).
func (s *SQLite) Update(ctx context.Context, key string, rev int64, value []byte) (int64, error) {
	return s.write(ctx, "update", key, func(cur KV, deleted, ok bool) (int64, bool, error) {
		if !ok || deleted {
			return 0, false, fmt.Errorf("%w (%w)", ErrRevisionMismatch, ErrKeyNotFound)
		}
		if cur.ModRevision != rev {
			return 0, false, fmt.Errorf("%w: revision %d, latest is %d", ErrRevisionMismatch, rev, cur.ModRevision)
		}
		return rev, false, nil
	}, value)
}

type decideFunc func(cur KV, deleted, ok bool) (prev int64, created bool, err error)

// write runs decide on the key's newest row and inserts one row, all inside
// BEGIN IMMEDIATE ... COMMIT on a single connection.
func (s *SQLite) write(ctx context.Context, op, key string, decide decideFunc, value []byte) (id int64, err error) {
	if value == nil {
		value = []byte{}
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite %s %s: %w", op, key, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, fmt.Errorf("sqlite %s %s: begin: %w", op, key, busy(err))
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	cur, deleted, ok, err := latest(ctx, conn, key)
	if err != nil {
		return 0, fmt.Errorf("sqlite %s %s: %w", op, key, err)
	}
	prev, created, err := decide(cur, deleted, ok)
	if err != nil {
		return 0, fmt.Errorf("sqlite %s %s: %w", op, key, err)
	}
	res, err := conn.ExecContext(ctx, kineInsertSQL, prev, key, boolInt(created), int64(0), prev, int64(0), value, key, prev)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			err = fmt.Errorf("%w: %w", ErrRevisionMismatch, err)
		}
		return 0, fmt.Errorf("sqlite %s %s: %w", op, key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, fmt.Errorf("sqlite %s %s: %w: the guarded insert wrote %d rows (%v)", op, key, ErrRevisionMismatch, n, err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, fmt.Errorf("sqlite %s %s: %w", op, key, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, fmt.Errorf("sqlite %s %s: commit: %w", op, key, busy(err))
	}
	committed = true
	return id, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// IntegrityCheck runs PRAGMA integrity_check and fails unless SQLite answers "ok".
func (s *SQLite) IntegrityCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check %s: %w", s.path, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("integrity check %s: %w", s.path, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check %s: %w", s.path, err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("integrity check %s: %s", s.path, strings.Join(msgs, "; "))
	}
	return nil
}
