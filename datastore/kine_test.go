package datastore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/k3sca/k3sca/internal/testservers"
)

// startKine runs a real kine on dbPath (see testservers.StartKine) and
// returns its endpoint and a stop function that waits for it to close the file.
func startKine(t testing.TB, dbPath string) (string, func()) {
	t.Helper()
	return testservers.StartKine(t, dbPath, "")
}

// kineClient dials a kine endpoint with an etcd v3 client, as k3s does.
func kineClient(t testing.TB, ep string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{ep},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcd client for %s: %v", ep, err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// kineTxn runs k3s's compare-and-swap shape through kine.
func kineTxn(t *testing.T, cli *clientv3.Client, key string, rev int64, then clientv3.Op, withElse bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	txn := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(then)
	if withElse {
		txn = txn.Else(clientv3.OpGet(key))
	}
	resp, err := txn.Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("kine txn on %s at %d: succeeded=%v err=%v", key, rev, resp != nil && resp.Succeeded, err)
	}
}

func kineGet(t *testing.T, cli *clientv3.Client, key string) (value []byte, mod, create int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("kine get %s: %v (%d kvs)", key, err, len(resp.Kvs))
	}
	kv := resp.Kvs[0]
	return kv.Value, kv.ModRevision, kv.CreateRevision
}

// TestSQLiteKineRoundTrip: kine writes, we write the file directly while it
// is stopped, kine serves our rows and CASes on top of them.
func TestSQLiteKineRoundTrip(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "db", "state.db")
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		t.Fatal(err)
	}
	key, other := StorageKey("mysecret"), StorageKey("other")
	v0, v1, v2, v3 := []byte("salt0:v0"), []byte("salt1:v1"), []byte("salt2:v2"), []byte("salt3:v3")

	// Phase 1: kine creates, updates, and deletes, like k3s.
	ep, stop := startKine(t, dbPath)
	cli := kineClient(t, ep)
	kineTxn(t, cli, key, 0, clientv3.OpPut(key, string(v0)), false)
	_, r0, _ := kineGet(t, cli, key)
	kineTxn(t, cli, key, r0, clientv3.OpPut(key, string(v1)), true)
	_, r1, c1 := kineGet(t, cli, key)
	kineTxn(t, cli, other, 0, clientv3.OpPut(other, "x"), false)
	_, ro, _ := kineGet(t, cli, other)
	kineTxn(t, cli, other, ro, clientv3.OpDelete(other), true)
	_ = cli.Close()
	stop()
	kineCreate, kineUpdate := readRow(t, dbPath, r0), readRow(t, dbPath, r1)
	t.Logf("kine delete row %d: %+v", ro+1, readRow(t, dbPath, ro+1))

	// Phase 2: direct access with kine stopped.
	s, err := OpenSQLite(ctx, dbPath, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, key)
	if err != nil || got.ModRevision != r1 || got.CreateRevision != c1 || c1 != r0 || !bytes.Equal(got.Value, v1) {
		t.Fatalf("Get = %+v, %v; kine said mod %d create %d", got, err, r1, c1)
	}
	if _, err := s.Get(ctx, other); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Get of deleted key: %v", err)
	}
	r2, err := s.Update(ctx, key, r1, v2)
	if err != nil {
		t.Fatal(err)
	}
	ours := readRow(t, dbPath, r2)
	t.Logf("kine create row %d: %+v\nkine update row %d: %+v\nour update row %d: %+v", r0, kineCreate, r1, kineUpdate, r2, ours)
	want := kineRow{Name: key, CreateRev: kineUpdate.CreateRev, PrevRev: r1, Value: v2, OldValue: v1,
		NameType: "text", ValueType: "blob", CRTy: kineUpdate.CRTy}
	if !equalRows(ours, want) || kineUpdate.CRTy != "integer" || kineUpdate.CreateRev.Int64 != r0 {
		t.Errorf("our update row %+v\nwant           %+v (kine's update row: %+v)", ours, want, kineUpdate)
	}
	n := rowCount(t, dbPath)
	if _, err := s.Update(ctx, key, r1, v3); !errors.Is(err, ErrRevisionMismatch) {
		t.Errorf("stale Update: %v, want ErrRevisionMismatch", err)
	}
	if _, err := s.Update(ctx, other, ro, v3); !errors.Is(err, ErrRevisionMismatch) || !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Update of deleted key: %v", err)
	}
	if rowCount(t, dbPath) != n {
		t.Error("a refused Update wrote a row")
	}
	ro2, err := s.Create(ctx, other, []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	created := readRow(t, dbPath, ro2)
	t.Logf("our create-after-delete row %d: %+v", ro2, created)
	// kine v0.17.5 stores NULL in a create row's create_revision; we store 0
	// as kine v0.16 does, since kine v0.16 (k3s v1.36) cannot read NULL.
	if created.Created != 1 || created.PrevRev != ro+1 || created.CRTy != "integer" || created.CreateRev.Int64 != 0 || created.OldValue != nil {
		t.Errorf("create after delete %+v; kine's create row %+v; delete row id %d", created, kineCreate, ro+1)
	}
	if _, err := s.Create(ctx, key, v3); !errors.Is(err, ErrKeyExists) {
		t.Errorf("Create of live key: %v", err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Phase 3: kine restarts on the same file and serves our rows.
	ep, stop = startKine(t, dbPath)
	cli = kineClient(t, ep)
	if val, mod, cr := kineGet(t, cli, key); !bytes.Equal(val, v2) || mod != r2 || cr != r0 {
		t.Fatalf("kine serves %q mod %d create %d; want our row %d, create %d", val, mod, cr, r2, r0)
	}
	if val, mod, cr := kineGet(t, cli, other); string(val) != "y" || mod != ro2 || cr != ro2 {
		t.Errorf("kine serves other %q mod %d create %d; want %d", val, mod, cr, ro2)
	}
	kineTxn(t, cli, key, r2, clientv3.OpPut(key, string(v3)), true)
	val, r3, cr := kineGet(t, cli, key)
	_ = cli.Close()
	stop()
	kineOnOurs := readRow(t, dbPath, r3)
	if !bytes.Equal(val, v3) || cr != r0 || kineOnOurs.CreateRev.Int64 != r0 || !bytes.Equal(kineOnOurs.OldValue, v2) {
		t.Errorf("kine's CAS on our row: %+v (create %d)", kineOnOurs, cr)
	}
}

func equalRows(a, b kineRow) bool {
	return a.Name == b.Name && a.Created == b.Created && a.Deleted == b.Deleted && a.CreateRev == b.CreateRev &&
		a.PrevRev == b.PrevRev && a.Lease == b.Lease && bytes.Equal(a.Value, b.Value) && bytes.Equal(a.OldValue, b.OldValue) &&
		a.NameType == b.NameType && a.ValueType == b.ValueType && a.CRTy == b.CRTy
}
