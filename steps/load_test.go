package steps

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
)

// stCheckLoaded reads the bootstrap value from be with the sandbox's token
// and asserts that it holds every staged field's content, every other field
// from the server dir, and every entry stamped testkit.Now.
func stCheckLoaded(t *testing.T, sb *sandbox.Sandbox, stage string, be datastore.Backend) {
	t.Helper()
	b, err := ReadBootstrap(context.Background(), be, stPass(sb))
	if err != nil {
		t.Fatalf("read bootstrap: %v", err)
	}
	staged := 0
	for _, f := range pki.BootstrapFields {
		want, err := os.ReadFile(f.Abs(stage))
		if !f.Rotate || err != nil || len(want) == 0 {
			if want, err = os.ReadFile(f.Abs(sb.ServerDir)); err != nil {
				continue
			}
		} else {
			staged++
		}
		e, ok := b.Data[f.Name]
		if !ok || !bytes.Equal(e.Content, want) {
			t.Errorf("%s: present %t, content differs from the expected file", f.Name, ok)
		}
		if !e.Timestamp.Equal(testkit.Now) {
			t.Errorf("%s: timestamp %s, want %s", f.Name, e.Timestamp, testkit.Now)
		}
	}
	if staged < 11 { // five CA certs, five CA keys, service.key
		t.Errorf("only %d staged fields found in the stage dir", staged)
	}
}

func TestLoadSQLite(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	old := stKV(t, sb)

	l := NewLoad(stInput(sb, stage, ViaAuto))
	plan, err := l.Preview(ctx)
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	var backupItem, casItem bool
	for _, it := range plan.Items {
		backupItem = backupItem || (it.Action == ActBackup && it.Target == BackupDir(sb.DataDir))
		casItem = casItem || (it.Action == ActDatastore && it.Target == sb.Key && strings.Contains(it.Detail, "compare-and-swap"))
	}
	if !backupItem || !casItem {
		t.Errorf("plan lacks the backup or compare-and-swap item: %+v", plan.Items)
	}
	if notes := strings.Join(plan.Notes, "\n"); !strings.Contains(notes, "2026-11-27T12:00:00Z") || !strings.Contains(notes, "SQLite") {
		t.Errorf("notes do not give the timestamp and the path: %q", notes)
	}
	if lp := l.Plan(); lp.Access.Via != ViaSQLite || lp.Revision != old.ModRevision || len(lp.Changes) == 0 {
		t.Errorf("plan: via %s revision %d (want %d), %d changes", lp.Access.Via, lp.Revision, old.ModRevision, len(lp.Changes))
	}
	if _, err := l.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	res := l.Result()
	got := stKV(t, sb)
	if got.ModRevision != res.NewRevision || res.NewRevision <= old.ModRevision {
		t.Errorf("revision %d, result says %d, old %d", got.ModRevision, res.NewRevision, old.ModRevision)
	}
	stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
		stCheckLoaded(t, sb, stage, db)
		return nil
	})

	fi, err := os.Stat(res.Backup)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup %s: %v, mode %v", res.Backup, err, fi)
	}
	bk, err := ReadBackup(res.Backup)
	if err != nil {
		t.Fatal(err)
	}
	if bk.Value != string(old.Value) || bk.Revision != old.ModRevision || bk.Key != sb.Key || bk.Via != string(ViaSQLite) {
		t.Errorf("backup holds key %s revision %d via %s, value equal %t", bk.Key, bk.Revision, bk.Via, bk.Value == string(old.Value))
	}
	live, _ := os.ReadFile(filepath.Join(sb.ServerDir, "tls", "server-ca.crt"))
	copied, err := os.ReadFile(filepath.Join(bk.TLSCopy, "server-ca.crt"))
	if err != nil || len(live) == 0 || !bytes.Equal(live, copied) {
		t.Errorf("tls copy %s: %v, equal %t", bk.TLSCopy, err, bytes.Equal(live, copied))
	}
}

func TestLoadDryRunTouchesNothing(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	db := sandboxtest.DBPath(sb)
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(db + side); err == nil {
			t.Fatalf("sandbox already has %s%s; the test would prove nothing", db, side)
		}
	}
	before := testkit.Fingerprint(t, sb.DataDir)
	in := stInput(sb, stage, ViaAuto)
	in.DryRun = true
	l := NewLoad(in)
	defer l.Close()
	if _, err := l.Preview(ctx); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if l.Plan().Access.Via != ViaSQLite || len(l.Plan().Changes) == 0 {
		t.Fatalf("dry run plan: via %s, %d changes", l.Plan().Access.Via, len(l.Plan().Changes))
	}
	if _, err := l.Run(ctx); err == nil || !strings.Contains(err.Error(), "dry run") {
		t.Fatalf("run in dry run: %v, want a refusal", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if after := testkit.Fingerprint(t, sb.DataDir); after != before {
		t.Errorf("dry run changed the data dir:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestLoadThroughKine: with k3s running and kine serving state.db on
// <server>/kine.sock, auto mode writes through kine's etcd API, and the row it leaves is one
// direct SQLite access reads back.
func TestLoadThroughKine(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	old := stKV(t, sb)
	stop := stStartKine(t, sb)

	in := stInput(sb, stage, ViaAuto)
	in.Access.Services = node.NewFakeServices(product.K3s.ServerUnit()) // k3s runs: kine's socket is the way in
	l := NewLoad(in)
	if _, err := l.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if acc := l.Plan().Access; acc.Via != ViaEtcd || !strings.Contains(acc.Reason, "kine.sock") {
		t.Errorf("access %s (%s), want etcd through kine.sock", acc.Via, acc.Reason)
	}
	// kine has no snapshot, but it stores in state.db: the copy was taken
	// while kine ran, and holds the value before the load.
	if c := l.Result().Copy; c == nil || c.Kind != CopySQLite || !c.Taken {
		t.Errorf("copy %+v, want a copy of state.db", c)
	} else if kv := stSQLiteValue(t, c.Path, sb.Key); kv.ModRevision != old.ModRevision || !bytes.Equal(kv.Value, old.Value) {
		t.Errorf("the copy holds revision %d, want %d", kv.ModRevision, old.ModRevision)
	}
	stop()
	got := stKV(t, sb)
	if got.ModRevision != l.Result().NewRevision || got.ModRevision <= old.ModRevision {
		t.Errorf("sqlite revision %d, load wrote %d, old %d", got.ModRevision, l.Result().NewRevision, old.ModRevision)
	}
	if plain := stDecrypt(t, sb, got.Value); !bytes.Equal(plain, stExpectedPlain(t, sb, stage, testkit.Now)) {
		t.Error("the value kine stored is not the staged bootstrap data")
	}
	stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
		stCheckLoaded(t, sb, stage, db)
		return nil
	})
}

// TestLoadEmbeddedEtcd: --via etcd with explicit endpoints writes the etcd
// key and leaves the sandbox's state.db alone.
func TestLoadEmbeddedEtcd(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	old := stKV(t, sb)
	cfg := stStartEtcd(t)
	e, err := datastore.OpenEtcd(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seedRev, err := e.Create(ctx, sb.Key, old.Value)
	if err != nil {
		t.Fatal(err)
	}

	in := stInput(sb, stage, ViaEtcd)
	in.Access.Etcd = cfg
	l := NewLoad(in)
	if _, err := l.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, err := e.Get(ctx, sb.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.ModRevision != l.Result().NewRevision || got.ModRevision <= seedRev {
		t.Errorf("etcd revision %d, load wrote %d, seeded %d", got.ModRevision, l.Result().NewRevision, seedRev)
	}
	if plain := stDecrypt(t, sb, got.Value); !bytes.Equal(plain, stExpectedPlain(t, sb, stage, testkit.Now)) {
		t.Error("the value in etcd is not the staged bootstrap data")
	}
	stCheckLoaded(t, sb, stage, e)
	bk, err := ReadBackup(l.Result().Backup)
	if err != nil || bk.Value != string(old.Value) || bk.Revision != seedRev || bk.Via != string(ViaEtcd) {
		t.Errorf("backup %+v: %v", bk, err)
	}
	stSameKV(t, stKV(t, sb), old)
}
