package datastore

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
)

// tpFreePort returns a currently free TCP port on 127.0.0.1.
func tpFreePort(t *testing.T) int { return testservers.FreePort(t) }

// tpWrite writes data to dir/name (mode 0600) and returns the path.
func tpWrite(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	return testkit.WriteFile(t, filepath.Join(dir, name), data, 0o600)
}

func tpURL(scheme string, port int) url.URL {
	return url.URL{Scheme: scheme, Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
}

// startEtcd runs a real single-member etcd on random 127.0.0.1 ports. With
// tls the client port needs a client certificate signed by a test CA, and the
// returned config carries that CA, certificate and key.
func startEtcd(t *testing.T, tls bool) (cfg EtcdConfig, stop func()) {
	t.Helper()
	var server *testservers.ServerTLS
	if tls {
		dir := t.TempDir()
		etcd := testservers.NewEtcdTLS(t, dir)
		server = &etcd.Server
		cfg.CAFile = server.CAFile
		cfg.CertFile = tpWrite(t, dir, "client.crt", etcd.Cert)
		cfg.KeyFile = tpWrite(t, dir, "client.key", etcd.Key)
	}
	ep, stop := testservers.StartEtcd(t, server)
	cfg.Endpoints = []string{ep}
	cfg.DialTimeout = 3 * time.Second
	return cfg, stop
}

func TestEtcdConfigForDataDir(t *testing.T) {
	tests := []struct {
		name     string
		embedded bool
		want     EtcdConfig
	}{
		{"kine", false, EtcdConfig{Endpoints: []string{"unix:///var/lib/rancher/k3s/server/kine.sock"}, DialTimeout: DefaultDialTimeout}},
		{"embedded etcd", true, EtcdConfig{
			Endpoints:   []string{"https://127.0.0.1:2379"},
			CAFile:      "/var/lib/rancher/k3s/server/tls/etcd/server-ca.crt",
			CertFile:    "/var/lib/rancher/k3s/server/tls/etcd/client.crt",
			KeyFile:     "/var/lib/rancher/k3s/server/tls/etcd/client.key",
			DialTimeout: DefaultDialTimeout,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EtcdConfigForDataDir("/var/lib/rancher/k3s/server", tt.embedded)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOpenEtcdTLSFailures checks that a mTLS etcd refuses clients without the
// right credentials and that bad credential files fail before dialing.
func TestOpenEtcdTLSFailures(t *testing.T) {
	cfg, stop := startEtcd(t, true)
	defer stop()
	other, _ := testkit.MakeCert(t, testkit.CertSpec{CN: "other-ca", IsCA: true})
	dir := t.TempDir()
	otherCA := tpWrite(t, dir, "other-ca.crt", testkit.CertPEM(other))
	tests := []struct {
		name   string
		mutate func(c *EtcdConfig)
		want   error
	}{
		{"no client certificate", func(c *EtcdConfig) { c.CertFile, c.KeyFile = "", "" }, ErrEtcdTLS},
		{"untrusted server", func(c *EtcdConfig) { c.CAFile = otherCA }, ErrEtcdTLS},
		{"missing CA file", func(c *EtcdConfig) { c.CAFile = filepath.Join(dir, "nope.crt") }, nil},
		{"CA file without certificates", func(c *EtcdConfig) { c.CAFile = tpWrite(t, dir, "empty.crt", []byte("x")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.DialTimeout = 2 * time.Second
			tt.mutate(&c)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e, err := OpenEtcd(ctx, c)
			if err == nil {
				_ = e.Close()
				t.Fatal("OpenEtcd succeeded, want error")
			}
			t.Logf("err: %v", err)
			if tt.want != nil && (!errors.Is(err, tt.want) || !errors.Is(err, ErrUnreachable)) {
				t.Errorf("err = %v, want %v and %v", err, tt.want, ErrUnreachable)
			}
		})
	}
}
