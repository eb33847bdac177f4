package steps

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// stInput is a SQLite-era load of stage into sb with k3s stopped.
func stInput(sb *sandbox.Sandbox, stage string, via Via) LoadInput {
	return LoadInput{
		DataDir: sb.DataDir, Staged: stage, Now: testkit.Now, Product: product.K3s,
		Access: AccessInput{DataDir: sb.DataDir, Via: via, Product: product.K3s, Services: node.NewFakeServices()},
	}
}

// stPass is the passphrase the sandbox's value is encrypted with.
func stPass(sb *sandbox.Sandbox) string { return sb.Token.Password }

// stKV opens state.db directly, checks its integrity and returns the live bootstrap value.
func stKV(t testing.TB, sb *sandbox.Sandbox) datastore.KV {
	t.Helper()
	ctx := context.Background()
	db, err := datastore.OpenSQLite(ctx, sandboxtest.DBPath(sb), 0)
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
func stWrite(t testing.TB, sb *sandbox.Sandbox, fn func(ctx context.Context, db *datastore.SQLite) error) {
	t.Helper()
	ctx := context.Background()
	db, err := datastore.OpenSQLite(ctx, sandboxtest.DBPath(sb), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fn(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// stExpectedPlain is the plaintext a load of stage at now must store.
func stExpectedPlain(t testing.TB, sb *sandbox.Sandbox, stage string, now time.Time) []byte {
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
func stDecrypt(t testing.TB, sb *sandbox.Sandbox, value []byte) []byte {
	t.Helper()
	plain, err := datastore.Decrypt(stPass(sb), value)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return plain
}

// stStartKine runs a real kine on the sandbox's state.db, listening on
// <server>/kine.sock as k3s does. stop waits until kine has closed the database.
func stStartKine(t testing.TB, sb *sandbox.Sandbox) (stop func()) {
	t.Helper()
	_, stop = testservers.StartKine(t, sandboxtest.DBPath(sb), filepath.Join(sb.ServerDir, pki.KineSocket))
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

// fakeServices is the fake service manager with k3s running or stopped.
func fakeServices(running bool) *node.FakeServices {
	if running {
		return node.NewFakeServices(product.K3s.ServerUnit())
	}
	return node.NewFakeServices()
}

// sandboxMembers are the rollout members of the sandbox cluster c, with
// the clock now; release closes what they hold.
func sandboxMembers(t testing.TB, c *sandbox.Cluster, now func() time.Time) (members []rollout.Member, release func()) {
	t.Helper()
	members, release, err := c.Members(product.K3s, now)
	if err != nil {
		t.Fatal(err)
	}
	return members, release
}

// lastRollout is the report of the flow's last step, which must be an OK
// rollout whose summary is want; out is the flow's output, for the
// failure.
func lastRollout(t testing.TB, rep Report, want, out string) *rollout.Report {
	t.Helper()
	last := rep.Steps[len(rep.Steps)-1]
	rr, ok := last.Outcome.Data.(*rollout.Report)
	if last.ID != "rollout" || !ok || !rr.OK || rr.Summary() != want {
		t.Fatalf("last step %s: %+v\n%s", last.ID, last.Outcome, out)
	}
	return rr
}
