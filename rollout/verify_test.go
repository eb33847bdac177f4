package rollout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// etcdServer is a node root holding the etcd client certificates where
// k3s keeps them, and a real embedded etcd serving with those CAs.
func etcdServer(t *testing.T) (host *remote.Local, ep string, stop func(), probe *cluster.ProbeResult) {
	t.Helper()
	root := t.TempDir()
	dd := product.K3s.DefaultDataDir()
	dir := filepath.Join(root, dd, "server", "tls", "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tls := testservers.NewEtcdTLS(t, t.TempDir())
	for name, b := range map[string][]byte{"server-ca.crt": tls.CA, "client.crt": tls.Cert, "client.key": tls.Key} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, dd, "server", "db", "etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	host, err := remote.NewLocal(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe, err = cluster.Probe(context.Background(), host, product.K3s)
	if err != nil || probe.Datastore.Value != cluster.DatastoreEtcd {
		t.Fatalf("probe: %v %+v", err, probe.Datastore)
	}
	ep, stop = testservers.StartEtcd(t, &tls.Server)
	return host, ep, stop, probe
}

// TestEtcdHealth checks a real embedded etcd over mTLS with the client
// certificate read from the server's files: healthy; with an alarm raised
// on the member, failed; stopped, failed; on a server without etcd,
// not applicable.
func TestEtcdHealth(t *testing.T) {
	host, ep, stop, probe := etcdServer(t)
	ctx := context.Background()
	now := testkit.Clock
	v := EtcdHealth{Host: host, Endpoint: ep, Timeout: 3 * time.Second, Now: now}
	if err := v.Verify(ctx, probe); err != nil {
		t.Fatalf("a healthy member: %v", err)
	}

	// Not applicable to a server on SQLite.
	sqlite := *probe
	sqlite.Datastore = cluster.Fact[cluster.Datastore]{Value: cluster.DatastoreSQLite}
	if err := v.Verify(ctx, &sqlite); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("sqlite server: %v", err)
	}

	// Without the client key the member cannot be asked.
	noKey := v
	other, _ := remote.NewLocal(t.TempDir(), nil)
	noKey.Host = other
	var nc *NotCheckedError
	if err := noKey.Verify(ctx, probe); !errors.As(err, &nc) || !strings.Contains(nc.Why, "client.crt") && !strings.Contains(nc.Why, "server-ca.crt") {
		t.Errorf("no certificates: %v", err)
	}

	// An alarm raised on the member (as etcd does when its space quota is
	// exceeded) fails it.
	cli := etcdClient(t, ep, host)
	st, err := cli.Status(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewMaintenanceClient(cli.ActiveConnection()).Alarm(ctx, &pb.AlarmRequest{
		Action: pb.AlarmRequest_ACTIVATE, MemberID: st.Header.MemberId, Alarm: pb.AlarmType_NOSPACE}); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, probe); err == nil || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "NOSPACE") {
		t.Errorf("a member with an alarm: %v", err)
	}
	res, _ := verifyOne(ctx, v, probe, Options{}.withDefaults(), false)
	if res.Result != ResultFailed {
		t.Errorf("reported %s", res)
	}
	_ = cli.Close()

	// Stopped: it does not answer, which fails the check (the next etcd
	// server must not restart while this member is not back), never ok.
	stop()
	if err := v.Verify(ctx, probe); err == nil || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("a stopped member: %v", err)
	}
	opts := Options{Poll: 10 * time.Millisecond, ReachWait: 200 * time.Millisecond, Timeout: 300 * time.Millisecond}.withDefaults()
	res, _ = verifyOne(ctx, v, probe, opts, true)
	if res.Result != ResultFailed || !strings.HasPrefix(res.String(), "etcd member health: failed (") {
		t.Errorf("reported %s", res)
	}
}

// etcdClient is a client with the node's etcd client certificate.
func etcdClient(t *testing.T, ep string, host *remote.Local) *clientv3.Client {
	t.Helper()
	tc, err := EtcdHealth{Host: host}.tlsConfig(context.Background(), product.K3s.DefaultDataDir())
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, TLS: tc, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// TestKubeReady asks a k3s-shaped API server, through the admin
// kubeconfig read from the server's files, whether a node is Ready: True
// passes, False fails with the reason, an unknown name and a missing
// kubeconfig are not checked, a stopped API is unreachable, and a
// kubeconfig whose client certificate the API does not trust never passes.
func TestKubeReady(t *testing.T) {
	api := testservers.StartKubeAPI(t, testkit.Now,
		testservers.KubeNode{Name: "s1", InternalIP: "10.0.0.1", Roles: []string{"control-plane", "etcd", "master"}, Ready: "True"},
		testservers.KubeNode{Name: "a1", InternalIP: "10.0.0.4", Ready: "False"})
	root := t.TempDir()
	kc := filepath.Join(root, "etc", "rancher", "k3s", "k3s.yaml")
	if err := os.MkdirAll(filepath.Dir(kc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kc, api.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	host, _ := remote.NewLocal(root, nil)
	ctx := context.Background()
	mk := func(node string) KubeReady {
		return KubeReady{Node: node, Server: host, ServerName: "s1", Kubeconfig: product.K3s.AdminKubeconfig(), Address: "127.0.0.1",
			Timeout: 3 * time.Second, Now: testkit.Clock}
	}
	if err := mk("s1").Verify(ctx, nil); err != nil {
		t.Errorf("s1 Ready: %v", err)
	}
	if err := mk("a1").Verify(ctx, nil); err == nil || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "Ready is False (KubeletNotReady") {
		t.Errorf("a1 not Ready: %v", err)
	}
	api.SetReady("a1", "True")
	if err := mk("a1").Verify(ctx, nil); err != nil {
		t.Errorf("a1 Ready: %v", err)
	}
	var nc *NotCheckedError
	if err := mk("node-9").Verify(ctx, nil); !errors.As(err, &nc) || !strings.Contains(nc.Why, `no node "node-9"`) {
		t.Errorf("unknown node: %v", err)
	}
	if got := api.Requests(); len(got) != 4 || got[0] != "/api/v1/nodes/s1" {
		t.Errorf("requests %v", got)
	}
	elsewhere := mk("s1")
	elsewhere.Server, _ = remote.NewLocal(t.TempDir(), nil)
	if err := elsewhere.Verify(ctx, nil); !errors.As(err, &nc) || nc.Why != "no /etc/rancher/k3s/k3s.yaml on s1" {
		t.Errorf("no kubeconfig: %v", err)
	}
	if err := os.WriteFile(kc, api.Stranger, 0o600); err != nil {
		t.Fatal(err)
	}
	res, _ := verifyOne(ctx, mk("s1"), nil, Options{Poll: 10 * time.Millisecond, ReachWait: 100 * time.Millisecond}.withDefaults(), true)
	if res.Result == ResultOK {
		t.Errorf("an untrusted client certificate: %s", res)
	}
}
