package datastore

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// contractBackend opens one kind of backend on fresh, empty storage.
type contractBackend struct {
	name string
	// open returns a backend on an empty datastore; cleanup is via t.Cleanup.
	open func(t *testing.T) Backend
	// unreachable prepares an EtcdConfig where nothing answers; nil if the
	// kind has no such state.
	unreachable func(t *testing.T) EtcdConfig
}

// openEtcdBackend opens cfg and registers Close.
func openEtcdBackend(t *testing.T, cfg EtcdConfig) Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := OpenEtcd(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenEtcd(%v): %v", cfg.Endpoints, err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func contractBackends() []contractBackend {
	return []contractBackend{
		{
			// SQLite opened directly has no "unreachable" state: a missing file is
			// a plain open error, so that case does not apply.
			name: "sqlite direct (state.db created by kine)",
			open: func(t *testing.T) Backend {
				db := filepath.Join(t.TempDir(), "state.db")
				_, stop := startKine(t, db)
				stop()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				s, err := OpenSQLite(ctx, db, 0)
				if err != nil {
					t.Fatalf("OpenSQLite: %v", err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			},
		},
		{
			name: "etcd client to kine (unix socket)",
			open: func(t *testing.T) Backend {
				ep, stop := startKine(t, filepath.Join(t.TempDir(), "state.db"))
				b := openEtcdBackend(t, EtcdConfig{Endpoints: []string{ep}, DialTimeout: 3 * time.Second})
				t.Cleanup(func() { _ = b.Close(); stop() })
				return b
			},
			unreachable: func(t *testing.T) EtcdConfig {
				return EtcdConfig{Endpoints: []string{"unix://" + filepath.Join(t.TempDir(), "kine.sock")}}
			},
		},
		{
			name: "etcd client to embedded etcd (plain)",
			open: func(t *testing.T) Backend {
				cfg, stop := startEtcd(t, false)
				t.Cleanup(stop)
				return openEtcdBackend(t, cfg)
			},
			unreachable: func(t *testing.T) EtcdConfig {
				u := tpURL("http", tpFreePort(t))
				return EtcdConfig{Endpoints: []string{u.String()}}
			},
		},
		{
			name: "etcd client to embedded etcd (mTLS)",
			open: func(t *testing.T) Backend {
				cfg, stop := startEtcd(t, true)
				t.Cleanup(stop)
				return openEtcdBackend(t, cfg)
			},
			unreachable: func(t *testing.T) EtcdConfig {
				cfg, stop := startEtcd(t, true)
				stop()
				return cfg
			},
		},
	}
}

// contractCase is one behaviour every backend must show.
type contractCase struct {
	name string
	run  func(t *testing.T, ctx context.Context, b Backend)
}

var contractCases = []contractCase{
	{"create then get returns value and revision", func(t *testing.T, ctx context.Context, b Backend) {
		rev := mustCreate(t, ctx, b, "/bootstrap/652c7dc687d9", "salt:cipher")
		kv := mustGet(t, ctx, b, "/bootstrap/652c7dc687d9")
		if string(kv.Value) != "salt:cipher" || kv.ModRevision != rev || kv.CreateRevision != rev {
			t.Errorf("got %q mod=%d create=%d, want %q at %d", kv.Value, kv.ModRevision, kv.CreateRevision, "salt:cipher", rev)
		}
	}},
	{"empty value (k3s lock) round trips", func(t *testing.T, ctx context.Context, b Backend) {
		mustCreate(t, ctx, b, "/bootstrap/lock", "")
		if kv := mustGet(t, ctx, b, "/bootstrap/lock"); len(kv.Value) != 0 {
			t.Errorf("value = %q, want empty", kv.Value)
		}
	}},
	{"create again fails with ErrKeyExists", func(t *testing.T, ctx context.Context, b Backend) {
		mustCreate(t, ctx, b, "/bootstrap/a", "one")
		if _, err := b.Create(ctx, "/bootstrap/a", []byte("two")); !errors.Is(err, ErrKeyExists) {
			t.Fatalf("second Create err = %v, want ErrKeyExists", err)
		}
		if kv := mustGet(t, ctx, b, "/bootstrap/a"); string(kv.Value) != "one" {
			t.Errorf("value = %q, want unchanged %q", kv.Value, "one")
		}
	}},
	{"update at current revision succeeds", func(t *testing.T, ctx context.Context, b Backend) {
		rev := mustCreate(t, ctx, b, "/bootstrap/a", "one")
		newRev, err := b.Update(ctx, "/bootstrap/a", rev, []byte("two"))
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		kv := mustGet(t, ctx, b, "/bootstrap/a")
		if string(kv.Value) != "two" || kv.ModRevision != newRev || newRev <= rev || kv.CreateRevision != rev {
			t.Errorf("got %q mod=%d create=%d; want %q, mod=%d > %d, create=%d", kv.Value, kv.ModRevision, kv.CreateRevision, "two", newRev, rev, rev)
		}
	}},
	{"update at stale revision fails and writes nothing", func(t *testing.T, ctx context.Context, b Backend) {
		rev := mustCreate(t, ctx, b, "/bootstrap/a", "one")
		if _, err := b.Update(ctx, "/bootstrap/a", rev, []byte("two")); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if _, err := b.Update(ctx, "/bootstrap/a", rev, []byte("three")); !errors.Is(err, ErrRevisionMismatch) {
			t.Fatalf("stale Update err = %v, want ErrRevisionMismatch", err)
		}
		if kv := mustGet(t, ctx, b, "/bootstrap/a"); string(kv.Value) != "two" {
			t.Errorf("value = %q, want unchanged %q", kv.Value, "two")
		}
	}},
	{"update of a missing key fails with ErrRevisionMismatch", func(t *testing.T, ctx context.Context, b Backend) {
		if _, err := b.Update(ctx, "/bootstrap/none", 1, []byte("x")); !errors.Is(err, ErrRevisionMismatch) {
			t.Fatalf("Update err = %v, want ErrRevisionMismatch", err)
		}
		if _, err := b.Get(ctx, "/bootstrap/none"); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Get after failed Update err = %v, want ErrKeyNotFound", err)
		}
	}},
	{"list /bootstrap covers [/bootstrap, /bootstraq) like k3s", func(t *testing.T, ctx context.Context, b Backend) {
		for _, k := range []string{"/registry/x", "/bootstrap/bbb", "/bootstraq", "/bootstrapx", "/bootstrap/aaa", "/bootstra"} {
			mustCreate(t, ctx, b, k, "v"+k)
		}
		kvs, err := b.List(ctx, BootstrapPrefix)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var keys []string
		for _, kv := range kvs {
			keys = append(keys, kv.Key)
			if !bytes.Equal(kv.Value, []byte("v"+kv.Key)) || kv.ModRevision == 0 {
				t.Errorf("%s: value %q mod=%d", kv.Key, kv.Value, kv.ModRevision)
			}
		}
		// "/bootstrapx" sorts inside the range, exactly as k3s's List sees it.
		want := []string{"/bootstrap/aaa", "/bootstrap/bbb", "/bootstrapx"}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("List keys = %q, want %q", keys, want)
		}
	}},
	{"get of a missing key fails with ErrKeyNotFound", func(t *testing.T, ctx context.Context, b Backend) {
		if _, err := b.Get(ctx, "/bootstrap/missing"); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("Get err = %v, want ErrKeyNotFound", err)
		}
		kvs, err := b.List(ctx, BootstrapPrefix)
		if err != nil || len(kvs) != 0 {
			t.Errorf("List on empty store = %v, %v; want none", kvs, err)
		}
	}},
}

// TestBackendContract runs every contract case against every backend.
func TestBackendContract(t *testing.T) {
	for _, be := range contractBackends() {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range contractCases {
				t.Run(tc.name, func(t *testing.T) {
					b := be.open(t)
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					tc.run(t, ctx, b)
				})
			}
			if be.unreachable == nil {
				return
			}
			t.Run("unreachable fails fast with ErrUnreachable", func(t *testing.T) {
				cfg := be.unreachable(t)
				cfg.DialTimeout = 2 * time.Second
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				start := time.Now()
				b, err := OpenEtcd(ctx, cfg)
				if err == nil {
					_ = b.Close()
					t.Fatal("open succeeded, want ErrUnreachable")
				}
				if !errors.Is(err, ErrUnreachable) {
					t.Errorf("err = %v, want ErrUnreachable", err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v, want a few seconds", d)
				}
			})
		})
	}
}

func mustCreate(t *testing.T, ctx context.Context, b Backend, key, value string) int64 {
	t.Helper()
	rev, err := b.Create(ctx, key, []byte(value))
	if err != nil {
		t.Fatalf("Create %s: %v", key, err)
	}
	if rev <= 0 {
		t.Fatalf("Create %s returned revision %d", key, rev)
	}
	return rev
}

func mustGet(t *testing.T, ctx context.Context, b Backend, key string) KV {
	t.Helper()
	kv, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	return kv
}

// TestKineSQLiteInterop checks that the two ways k3sca reaches kine's file
// agree: a value written through kine is read back directly and updated in
// place, and kine then serves the direct write at the revision SQLite returned.
func TestKineSQLiteInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := filepath.Join(t.TempDir(), "state.db")
	const key = "/bootstrap/652c7dc687d9"

	ep, stop := startKine(t, db)
	e := openEtcdBackend(t, EtcdConfig{Endpoints: []string{ep}})
	rev := mustCreate(t, ctx, e, key, "via-kine")
	_ = e.Close()
	stop()

	s, err := OpenSQLite(ctx, db, 0)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	if kv := mustGet(t, ctx, s, key); string(kv.Value) != "via-kine" || kv.ModRevision != rev {
		t.Fatalf("sqlite sees %q at %d, want %q at %d", kv.Value, kv.ModRevision, "via-kine", rev)
	}
	newRev, err := s.Update(ctx, key, rev, []byte("via-sqlite"))
	if err != nil {
		t.Fatalf("sqlite Update: %v", err)
	}
	_ = s.Close()

	ep, stop = startKine(t, db)
	defer stop()
	e = openEtcdBackend(t, EtcdConfig{Endpoints: []string{ep}})
	kv := mustGet(t, ctx, e, key)
	if string(kv.Value) != "via-sqlite" || kv.ModRevision != newRev || kv.CreateRevision != rev {
		t.Errorf("kine sees %q mod=%d create=%d, want %q mod=%d create=%d", kv.Value, kv.ModRevision, kv.CreateRevision, "via-sqlite", newRev, rev)
	}
	if _, err := e.Update(ctx, key, rev, []byte("stale")); !errors.Is(err, ErrRevisionMismatch) {
		t.Errorf("stale Update through kine err = %v, want ErrRevisionMismatch", err)
	}
}
