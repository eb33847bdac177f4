package datastore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// kineSchema is kine's SQLite schema (pkg/drivers/sqlite), statement for
// statement, so a database we create is one kine opens unchanged. kine
// v0.16.4 (k3s v1.36) and v0.17.5 create exactly these statements; v0.17's
// opt-in KINE_SCHEMA_MIGRATION only rewrites the stored CREATE TABLE text to
// the same columns. create_revision is nullable in both; kine v0.16 still
// cannot read a NULL there, so rows never store one (see kineInsertSQL).
var kineSchema = []string{
	`CREATE TABLE IF NOT EXISTS kine
			(
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				name TEXT,
				created INTEGER,
				deleted INTEGER,
				create_revision INTEGER,
				prev_revision INTEGER,
				lease INTEGER,
				value BLOB,
				old_value BLOB
			)`,
	`CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)`,
	`CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)`,
	`CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)`,
	`CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision)`,
	`CREATE INDEX IF NOT EXISTS kine_id_compact_rev_key_with_prev_revision_index ON kine(id, name, prev_revision) WHERE name != 'compact_rev_key' AND prev_revision != 0`,
}

// InitKineDB creates a kine SQLite database at path (WAL mode, kine's
// schema), the way kine does on first start. It is for sandboxes and tests;
// an existing database is left as it is apart from missing schema objects.
func InitKineDB(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(30000)")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	for _, stmt := range kineSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create kine schema in %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}
