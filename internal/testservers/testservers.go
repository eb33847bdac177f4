// Package testservers starts the real datastores k3s talks to, in-process,
// for tests: kine over a SQLite file on a unix socket, and a single-member
// embedded etcd on 127.0.0.1. Only test code imports it.
package testservers

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/k3s-io/kine/pkg/drivers/sqlite"
	"github.com/k3s-io/kine/pkg/endpoint"
	"github.com/sirupsen/logrus"
	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/protobuf/proto"
)

// StartKine runs kine on the SQLite file dbPath the way k3s does (sqlite
// driver with k3s's DSN parameters, plain gRPC on a unix socket) and returns
// its endpoint ("unix://…") and a stop function that waits until kine has
// closed the database. socket "" picks a short temp path (unix socket paths
// are limited to 108 bytes). With CGO_ENABLED=0 kine uses modernc.org/sqlite.
func StartKine(t testing.TB, dbPath, socket string) (string, func()) {
	t.Helper()
	logrus.SetLevel(logrus.WarnLevel)
	var cleanup func()
	if socket == "" {
		dir, err := os.MkdirTemp("", "kine")
		if err != nil {
			t.Fatalf("socket dir: %v", err)
		}
		socket = filepath.Join(dir, "kine.sock")
		cleanup = func() { _ = os.RemoveAll(dir) }
	} else {
		cleanup = func() { _ = os.Remove(socket) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg := &sync.WaitGroup{}
	cfg, err := endpoint.Listen(ctx, endpoint.Config{
		WaitGroup: wg,
		Listener:  "unix://" + socket,
		Endpoint:  "sqlite://" + dbPath + "?" + sqlite.DefaultParams,
		// kine's own CLI defaults (pkg/app); the zero values are refused.
		PollInterval: time.Second, NotifyInterval: 5 * time.Second, EmulatedETCDVersion: "3.6.11",
		CompactTimeout: 5 * time.Second, CompactMinRetain: 1000, CompactBatchSize: 1000, PollBatchSize: 500,
	})
	if err != nil {
		cancel()
		cleanup()
		t.Fatalf("start kine on %s: %v", dbPath, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("kine did not stop within 10s")
			}
			cleanup()
		})
	}
	t.Cleanup(stop)
	return cfg.Endpoints[0], stop
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ServerTLS are the server side files of an mTLS etcd: its CA (which must
// also sign the client certificates), certificate and key.
type ServerTLS struct {
	CAFile, CertFile, KeyFile string
}

// StartEtcd runs a real single-member embedded etcd on random 127.0.0.1
// ports and returns its client URL and a stop function. With tls non-nil
// the client port is https and requires a client certificate.
func StartEtcd(t testing.TB, tls *ServerTLS) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	ec := embed.NewConfig()
	ec.Name = "k3sca-test"
	ec.Dir = filepath.Join(dir, "data")
	ec.Logger, ec.LogLevel, ec.LogOutputs = "zap", "error", []string{filepath.Join(dir, "etcd.log")}
	ec.TickMs, ec.ElectionMs = 10, 50 // a single member elects itself at once
	peer := localURL("http", FreePort(t))
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	ec.InitialCluster = ec.Name + "=" + peer.String()
	scheme := "http"
	if tls != nil {
		scheme = "https"
		ec.ClientTLSInfo.TrustedCAFile, ec.ClientTLSInfo.CertFile, ec.ClientTLSInfo.KeyFile = tls.CAFile, tls.CertFile, tls.KeyFile
		ec.ClientTLSInfo.ClientCertAuth = true
	}
	client := localURL(scheme, FreePort(t))
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		t.Fatal("etcd did not become ready")
	}
	var once sync.Once
	stop := func() { once.Do(e.Close) }
	t.Cleanup(stop)
	return client.String(), stop
}

func localURL(scheme string, port int) url.URL {
	return url.URL{Scheme: scheme, Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
}

// SnapshotValue reads key's newest value out of an etcd snapshot file the
// way etcd's restore reads it: the file without its 32-byte sha256
// trailer is etcd's bbolt database, whose "key" bucket holds every
// revision as an mvccpb.KeyValue. ok is false when the key is not in it
// (or its newest revision is a delete).
func SnapshotValue(t testing.TB, path, key string) (value []byte, modRevision int64, ok bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read snapshot: %v", err)
	}
	if len(data) < sha256.Size {
		t.Fatalf("snapshot %s: %d bytes", path, len(data))
	}
	db := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(db, data[:len(data)-sha256.Size], 0o600); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(db, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open the snapshot's bbolt database: %v", err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("key"))
		if b == nil {
			return errors.New("no key bucket")
		}
		return b.ForEach(func(rev, v []byte) error {
			var kv mvccpb.KeyValue
			if err := proto.Unmarshal(v, &kv); err != nil {
				return err
			}
			if string(kv.Key) != key {
				return nil
			}
			// A revision key is 8+1+8 bytes; a tombstone (delete) has a
			// trailing 't' and a KeyValue holding only the key.
			tombstone := len(rev) == 18 && rev[17] == 't'
			value, modRevision, ok = kv.Value, kv.ModRevision, !tombstone
			return nil
		})
	})
	if err != nil {
		t.Fatalf("read the snapshot's key bucket: %v", err)
	}
	return value, modRevision, ok
}

// ListenKineSocket makes <server>/kine.sock accept connections, as a
// running kine does, until the test ends.
func ListenKineSocket(t testing.TB, server string) {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(server, "kine.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
}
