package etcdrpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/k3sca/k3sca/internal/testservers"
)

// etcdTLS starts a real embedded etcd requiring client certificates and
// returns its endpoint and the client's TLS config.
func etcdTLS(t *testing.T) (string, *tls.Config) {
	t.Helper()
	files := testservers.NewEtcdTLS(t, t.TempDir())
	ep, _ := testservers.StartEtcd(t, &files.Server)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(files.CA) {
		t.Fatal("no CA")
	}
	pair, err := tls.X509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	return ep, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair}}
}

func newClient(t *testing.T, ep string, tc *tls.Config) *Client {
	t.Helper()
	c, err := New(ep, tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestKVRealEtcd runs every KV request shape k3sca sends against a real
// etcd, plain and over mTLS: create, a get, a compare-and-swap that wins,
// one that loses (the failure Range returns the current value), a create
// of an existing key, and a prefix range that excludes its neighbours.
func TestKVRealEtcd(t *testing.T) {
	for _, mtls := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "mtls"}[mtls], func(t *testing.T) {
			var ep string
			var tc *tls.Config
			if mtls {
				ep, tc = etcdTLS(t)
			} else {
				ep, _ = testservers.StartEtcd(t, nil)
			}
			testKV(t, newClient(t, ep, tc), true)
		})
	}
}

// TestKVKine runs the same against kine over its unix socket, as k3s
// serves it.
func TestKVKine(t *testing.T) {
	ep, _ := testservers.StartKine(t, filepath.Join(t.TempDir(), "state.db"), "")
	if !strings.HasPrefix(ep, "unix://") {
		t.Fatalf("kine endpoint %s", ep)
	}
	c := newClient(t, ep, nil)
	testKV(t, c, false)
	st, err := c.Status(context.Background())
	if err != nil || st.Header.MemberID != 0 || st.Version == "" {
		t.Errorf("kine status %+v, %v: want a version and no member", st, err)
	}
}

func testKV(t *testing.T, c *Client, etcd bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, other := []byte("/bootstrap/0123456789ab"), []byte("/bootstraq")
	create := func(k, v []byte) *TxnResponse {
		t.Helper()
		resp, err := c.Txn(ctx, TxnRequest{Compare: []Compare{{Key: k}}, Success: []Op{{Put: &PutRequest{Key: k, Value: v}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	r0 := create(key, []byte("v0"))
	if !r0.Succeeded || r0.Header.Revision == 0 || len(r0.Responses) != 1 || r0.Responses[0].Put == nil {
		t.Fatalf("create: %+v", r0)
	}
	if r := create(other, []byte("x")); !r.Succeeded {
		t.Fatalf("create neighbour: %+v", r)
	}
	if r := create(key, []byte("again")); r.Succeeded {
		t.Errorf("a second create succeeded: %+v", r)
	}

	got, err := c.Range(ctx, RangeRequest{Key: key})
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v0" || got.Kvs[0].ModRevision != r0.Header.Revision || got.Kvs[0].CreateRevision != r0.Header.Revision {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if etcd && got.Header.MemberID == 0 {
		t.Errorf("etcd's header names no member: %+v", got.Header)
	}

	update := func(rev int64, v string) *TxnResponse {
		t.Helper()
		resp, err := c.Txn(ctx, TxnRequest{
			Compare: []Compare{{Key: key, ModRevision: rev}},
			Success: []Op{{Put: &PutRequest{Key: key, Value: []byte(v)}}},
			Failure: []Op{{Range: &RangeRequest{Key: key}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	r1 := update(r0.Header.Revision, "v1")
	if !r1.Succeeded || r1.Header.Revision <= r0.Header.Revision {
		t.Fatalf("update: %+v", r1)
	}
	// The conflict: the revision the update was planned at is gone.
	lost := update(r0.Header.Revision, "v2")
	if lost.Succeeded || len(lost.Responses) != 1 || lost.Responses[0].Range == nil {
		t.Fatalf("stale update: %+v", lost)
	}
	if kvs := lost.Responses[0].Range.Kvs; len(kvs) != 1 || string(kvs[0].Value) != "v1" || kvs[0].ModRevision != r1.Header.Revision {
		t.Errorf("the failure range returned %+v, want v1 at %d", kvs, r1.Header.Revision)
	}

	list, err := c.Range(ctx, RangeRequest{Key: []byte("/bootstrap"), RangeEnd: PrefixEnd([]byte("/bootstrap"))})
	if err != nil || len(list.Kvs) != 1 || !bytes.Equal(list.Kvs[0].Key, key) || string(list.Kvs[0].Value) != "v1" {
		t.Errorf("prefix range: %+v, %v; want only %s", list, err, key)
	}
	none, err := c.Range(ctx, RangeRequest{Key: []byte("/nothing")})
	if err != nil || len(none.Kvs) != 0 {
		t.Errorf("get of a missing key: %+v, %v", none, err)
	}
}

// TestMaintenanceRealEtcd: Status names the member and its leader; a
// snapshot streams the whole database, whose trailing sha256 verifies;
// AlarmList reports an alarm raised on the member.
func TestMaintenanceRealEtcd(t *testing.T) {
	ep, tc := etcdTLS(t)
	c := newClient(t, ep, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 200 {
		k := []byte("/fill/" + strings.Repeat("k", i))
		if _, err := c.Txn(ctx, TxnRequest{Compare: []Compare{{Key: k}}, Success: []Op{{Put: &PutRequest{Key: k, Value: bytes.Repeat([]byte{byte(i)}, 1000)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Header.MemberID == 0 || st.Leader != st.Header.MemberID || st.DBSize <= 0 || st.Version == "" || len(st.Errors) != 0 || st.IsLearner {
		t.Fatalf("status %+v", st)
	}

	s, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(s)
	_ = s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 200*1000 || len(data)%512 != sha256.Size {
		t.Fatalf("snapshot of %d bytes: want the database pages and a sha256", len(data))
	}
	if sum := sha256.Sum256(data[:len(data)-sha256.Size]); !bytes.Equal(sum[:], data[len(data)-sha256.Size:]) {
		t.Errorf("snapshot trailer %x, content hashes to %x", data[len(data)-sha256.Size:], sum)
	}

	alarms, err := c.AlarmList(ctx)
	if err != nil || len(alarms.Alarms) != 0 {
		t.Fatalf("alarms %+v, %v: want none", alarms, err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, TLS: tc, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := pb.NewMaintenanceClient(cli.ActiveConnection()).Alarm(ctx, &pb.AlarmRequest{
		Action: pb.AlarmRequest_ACTIVATE, MemberID: st.Header.MemberID, Alarm: pb.AlarmType_NOSPACE}); err != nil {
		t.Fatal(err)
	}
	alarms, err = c.AlarmList(ctx)
	if err != nil || len(alarms.Alarms) != 1 || alarms.Alarms[0] != (AlarmMember{MemberID: st.Header.MemberID, Alarm: AlarmNoSpace}) {
		t.Errorf("alarms %+v, %v: want NOSPACE on %x", alarms, err, st.Header.MemberID)
	}
}

// TestErrorStatus: etcd's refusals come back as a StatusError with its
// code and message: a range without a key (InvalidArgument), and with
// auth enabled a read by a user without a role (PermissionDenied, the
// code the rollout's health check accepts as an answer).
func TestErrorStatus(t *testing.T) {
	ep, tc := etcdTLS(t)
	c := newClient(t, ep, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Range(ctx, RangeRequest{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != InvalidArgument || se.Message != "etcdserver: key is not provided" || errors.Is(err, ErrTransport) {
		t.Fatalf("range without a key: %v, want InvalidArgument \"etcdserver: key is not provided\"", err)
	}

	// Auth on: the client certificate's CN (etcd-client) is the user,
	// which does not exist, so every read is denied.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, TLS: tc, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.UserAdd(ctx, "root", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Range(ctx, RangeRequest{Key: []byte("health")})
	if CodeOf(err) != PermissionDenied || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("read with auth on: %v (code %s), want PermissionDenied", err, CodeOf(err))
	}
}

// TestTransportErrors: a refused connection, an untrusted server and a
// missing client certificate wrap ErrTransport and the cause; none is a
// StatusError.
func TestTransportErrors(t *testing.T) {
	ep, tc := etcdTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	noCert := tc.Clone()
	noCert.Certificates = nil
	untrusted := tc.Clone()
	untrusted.RootCAs = x509.NewCertPool()
	tests := []struct {
		name string
		ep   string
		tc   *tls.Config
		want string
	}{
		{"refused", "http://127.0.0.1:" + strconv.Itoa(testservers.FreePort(t)), nil, "connection refused"},
		// The server's alert, or the connection it broke (the HTTP/2
		// transport reports whichever it meets first).
		{"no client certificate", ep, noCert, ""},
		{"untrusted server", ep, untrusted, "certificate signed by unknown authority"},
		{"plain to a TLS port", strings.Replace(ep, "https://", "http://", 1), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newClient(t, tt.ep, tt.tc).Range(ctx, RangeRequest{Key: []byte("k")})
			var se *StatusError
			if !errors.Is(err, ErrTransport) || errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrTransport with %q", err, tt.want)
			}
		})
	}
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	tests := []struct {
		ep string
		tc *tls.Config
	}{
		{"ftp://127.0.0.1:2379", nil},
		{"https://", nil},
		{"unix://", nil},
		{"http://127.0.0.1:2379", tc},
		{"unix:///run/kine.sock", tc},
	}
	for _, tt := range tests {
		if _, err := New(tt.ep, tt.tc); err == nil {
			t.Errorf("New(%q, tls %t) succeeded", tt.ep, tt.tc != nil)
		}
	}
	for _, ep := range []string{"https://127.0.0.1:2379", "http://127.0.0.1:2379", "127.0.0.1:2379", "unix:///run/kine.sock"} {
		if _, err := New(ep, nil); err != nil {
			t.Errorf("New(%q): %v", ep, err)
		}
	}
}

func TestGRPCTimeout(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Second, "5000m"},
		{1500 * time.Microsecond, "2m"},
		{-time.Second, "1m"},
		{1000 * time.Hour, "3600000S"},
	}
	for _, tt := range tests {
		if got := grpcTimeout(tt.d); got != tt.want {
			t.Errorf("grpcTimeout(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
