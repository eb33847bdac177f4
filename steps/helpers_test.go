package steps

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// stServices is a fake ServiceManager: systemd cannot run here.
type stServices struct{ active bool }

func (s stServices) IsActive(context.Context, string) (bool, error) { return s.active, nil }
func (stServices) Stop(context.Context, string) error               { return nil }
func (stServices) Start(context.Context, string) error              { return nil }
func (stServices) Name() string                                     { return "fake" }

// stSandbox creates a sandbox data dir under a short temp dir, so that
// <server>/kine.sock stays below the 108-byte unix socket limit.
func stSandbox(t testing.TB) *Sandbox {
	t.Helper()
	root, err := os.MkdirTemp("", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	sb, err := CreateSandbox(context.Background(), SandboxInput{
		DataDir: filepath.Join(root, "data"), Product: product.K3s, Now: testkit.Now.Add(-24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	return sb
}

// stStage writes a cross-signed rotation of the sandbox's CAs and returns its dir.
func stStage(t testing.TB, sb *Sandbox) string {
	t.Helper()
	set, err := pki.GenerateRotation(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now}, sb.ServerDir)
	if err != nil {
		t.Fatalf("generate rotation: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "stage")
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stInput is a SQLite-era load of stage into sb with k3s stopped.
func stInput(sb *Sandbox, stage string, via Via) LoadInput {
	return LoadInput{
		DataDir: sb.DataDir, Staged: stage, Now: testkit.Now, Product: product.K3s,
		Access: AccessInput{DataDir: sb.DataDir, Via: via, Product: product.K3s, Services: stServices{}},
	}
}

func stDBPath(sb *Sandbox) string {
	return filepath.Join(sb.ServerDir, filepath.FromSlash(pki.DatastoreFile))
}

// stPass is the passphrase the sandbox's value is encrypted with.
func stPass(sb *Sandbox) string { return sb.Token.Password }

// stKV opens state.db directly, checks its integrity and returns the live bootstrap value.
func stKV(t testing.TB, sb *Sandbox) datastore.KV {
	t.Helper()
	ctx := context.Background()
	db, err := datastore.OpenSQLite(ctx, stDBPath(sb), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := db.Get(ctx, sb.Key)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// stWrite runs fn on a direct handle to state.db.
func stWrite(t testing.TB, sb *Sandbox, fn func(ctx context.Context, db *datastore.SQLite) error) {
	t.Helper()
	ctx := context.Background()
	db, err := datastore.OpenSQLite(ctx, stDBPath(sb), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fn(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// stDump is PRAGMA integrity_check followed by every row of every table of
// the database, the exact state a refused operation must leave alone.
func stDump(t testing.TB, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check %s: %q %v", path, ok, err)
	}
	tables, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		rows, err := db.Query(fmt.Sprintf("SELECT * FROM %q ORDER BY rowid", n))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %q\n", n, vals)
		}
		rows.Close()
	}
	return b.String()
}

// stFingerprint lists every path under dir with its size, mode and mtime.
func stFingerprint(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s %d\n", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// stExpectedPlain is the plaintext a load of stage at now must store.
func stExpectedPlain(t testing.TB, sb *Sandbox, stage string, now time.Time) []byte {
	t.Helper()
	next, _, err := datastore.Build(context.Background(), datastore.BuildInput{CurrentDir: sb.ServerDir, StagedDir: stage, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := next.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// stDecrypt opens a value with the sandbox's passphrase.
func stDecrypt(t testing.TB, sb *Sandbox, value []byte) []byte {
	t.Helper()
	plain, err := datastore.Decrypt(stPass(sb), value)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return plain
}

// stStartKine runs a real kine on the sandbox's state.db, listening on
// <server>/kine.sock as k3s does. stop waits until kine has closed the database.
func stStartKine(t testing.TB, sb *Sandbox) (stop func()) {
	t.Helper()
	_, stop = testservers.StartKine(t, stDBPath(sb), filepath.Join(sb.ServerDir, pki.KineSocket))
	return stop
}

// stFreePort returns a port on 127.0.0.1 that nothing listens on.
func stFreePort(t testing.TB) int { return testservers.FreePort(t) }

// stStartEtcd runs a real single-member embedded etcd (plain http) on random ports.
func stStartEtcd(t testing.TB) datastore.EtcdConfig {
	t.Helper()
	ep, _ := testservers.StartEtcd(t, nil)
	return datastore.EtcdConfig{Endpoints: []string{ep}, DialTimeout: 3 * time.Second}
}

// stSameKV fails unless got is want byte for byte, at the same revision.
func stSameKV(t testing.TB, got, want datastore.KV) {
	t.Helper()
	if got.ModRevision != want.ModRevision || !bytes.Equal(got.Value, want.Value) {
		t.Errorf("bootstrap value changed: revision %d -> %d, value equal %t",
			want.ModRevision, got.ModRevision, bytes.Equal(got.Value, want.Value))
	}
}
