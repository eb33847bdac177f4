package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestSandboxReportsItsVersion: a new sandbox's simulated binary is found
// as the unit's program and run.
func TestSandboxReportsItsVersion(t *testing.T) {
	sb := sandboxtest.New(t)
	k := node.DetectK3sVersion(context.Background(), node.VersionInput{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock,
		Services: &sandbox.Services{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock}})
	if k.Version != "v1.36.3+k3s1" || !strings.Contains(k.Source, sandbox.Program(sb.DataDir, product.K3s)+" --version") {
		t.Fatalf("version = %+v", k)
	}
}

// TestDetectK3sVersionOrder: the unit's program first, then PATH, then
// /version; an unknown version says what was tried.
func TestDetectK3sVersionOrder(t *testing.T) {
	unit := cluster.MemFiles{"/etc/systemd/system/k3s.service": "[Service]\nExecStart=/opt/k3s/k3s server\n"}
	out := map[string]string{
		"/opt/k3s/k3s":       "k3s version v1.33.5+k3s1 (a1b2c3d4)\ngo version go1.24.6\n",
		"/usr/local/bin/k3s": "k3s version v1.32.4+k3s1 (a1b2c3d4)\ngo version go1.23.6\n",
	}
	run := func(_ context.Context, argv []string) ([]byte, error) {
		if s, ok := out[argv[0]]; ok && len(argv) == 2 && argv[1] == "--version" {
			return []byte(s), nil
		}
		return nil, errors.New("exec: no such file")
	}
	onPath := func(string) (string, error) { return "/usr/local/bin/k3s", nil }
	noPath := func(string) (string, error) { return "", errors.New("not found") }
	get := func(status int, body string) func(context.Context, string, *tls.Config) (int, []byte, error) {
		return func(context.Context, string, *tls.Config) (int, []byte, error) { return status, []byte(body), nil }
	}
	sb := sandboxtest.New(t)
	tests := []struct {
		name          string
		probe         node.VersionProbe
		version, from string
	}{
		{"the unit's program", node.VersionProbe{Files: unit, Run: run, LookPath: onPath, Get: get(500, "")}, "v1.33.5+k3s1",
			"/opt/k3s/k3s --version, ExecStart of /etc/systemd/system/k3s.service"},
		{"PATH when there is no unit", node.VersionProbe{Files: cluster.MemFiles{}, Run: run, LookPath: onPath, Get: get(500, "")}, "v1.32.4+k3s1",
			"/usr/local/bin/k3s --version, PATH"},
		{"/version when no program answers", node.VersionProbe{Files: cluster.MemFiles{}, Run: run, LookPath: noPath,
			Get: get(200, `{"major":"1","minor":"31","gitVersion":"v1.31.9+k3s1","goVersion":"go1.23.8"}`)}, "v1.31.9+k3s1",
			"GET https://127.0.0.1:6443/version"},
		{"unknown", node.VersionProbe{Files: cluster.MemFiles{}, Run: run, LookPath: noPath,
			Get: get(401, `{"kind":"Status","message":"Unauthorized","code":401}`)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := node.VersionInput{DataDir: sb.DataDir, Product: product.K3s, Services: node.Systemd{}, ServerURL: "https://127.0.0.1:6443",
				Now: testkit.Clock, Probe: &tt.probe}
			k := node.DetectK3sVersion(context.Background(), in)
			if k.Version != tt.version || k.Source != tt.from {
				t.Fatalf("found %+v, want %s from %q", k, tt.version, tt.from)
			}
			if tt.version == "" {
				for _, want := range []string{"unit k3s", "k3s is not on PATH", "HTTP 401", "k3s --version"} {
					if !strings.Contains(k.Unknown, want) {
						t.Errorf("unknown %q does not say %q", k.Unknown, want)
					}
				}
			}
		})
	}
}

// TestServerVersionEndpoint: /version is asked with the data dir's admin
// client certificate, as k3s's apiserver answers no anonymous request; a
// server that does not take the certificate leaves the version unknown.
func TestServerVersionEndpoint(t *testing.T) {
	sb := sandboxtest.New(t)
	certPEM, keyPEM, err := pki.IssueServingCert(pki.GenOptions{Product: product.K3s, Now: testkit.Now}, sb.ServerDir)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clientCA := x509.NewCertPool()
	b, err := os.ReadFile(filepath.Join(sb.ServerDir, pki.TLSDir, "client-ca.crt"))
	if err != nil || !clientCA.AppendCertsFromPEM(b) {
		t.Fatalf("client CA: %v", err)
	}
	for _, tt := range []struct {
		name    string
		auth    tls.ClientAuthType
		cas     *x509.CertPool
		want    string
		unknown string
	}{
		{"admin certificate accepted", tls.VerifyClientCertIfGiven, clientCA, "v1.34.1+k3s1", ""},
		{"certificate not trusted", tls.VerifyClientCertIfGiven, x509.NewCertPool(), "", "remote error: tls: unknown certificate authority"},
		{"anonymous: 401", tls.NoClientCert, nil, "", "/version: HTTP 401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/version" || len(r.TLS.PeerCertificates) == 0 {
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
					return
				}
				_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.1+k3s1","gitCommit":"0","goVersion":"go1.24.6"}`))
			}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tt.auth,
				ClientCAs: tt.cas, Time: testkit.Clock}
			srv.StartTLS()
			defer srv.Close()
			in := node.VersionInput{DataDir: sb.DataDir, Product: product.K3s, ServerURL: srv.URL, Now: testkit.Clock}
			k := node.DetectK3sVersion(context.Background(), in)
			if k.Version != tt.want {
				t.Fatalf("found %+v, want %q", k, tt.want)
			}
			if tt.want != "" && k.Source != "GET "+srv.URL+"/version" {
				t.Errorf("source %q", k.Source)
			}
			if !strings.Contains(k.Unknown, tt.unknown) {
				t.Errorf("unknown %q does not say %q", k.Unknown, tt.unknown)
			}
		})
	}
}
