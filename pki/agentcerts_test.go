package pki

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

// acWant is one expected agent certificate (spec 6.2 "Agent certs").
type acWant struct {
	name, ca, cn string
	orgs         []string
	eku          x509.ExtKeyUsage
	dns, ips     []string
}

func acTable(p product.Product, node string) []acWant {
	n := p.Name()
	cli := x509.ExtKeyUsageClientAuth
	return []acWant{
		{"serving-kubelet", "server", node, nil, x509.ExtKeyUsageServerAuth, []string{node, "localhost"}, []string{"127.0.0.1", "::1"}},
		{"client-kubelet", "client", "system:node:" + node, []string{"system:nodes"}, cli, nil, nil},
		{"client-kube-proxy", "client", "system:kube-proxy", nil, cli, nil, nil},
		{"client-" + n + "-controller", "client", "system:" + n + "-controller", nil, cli, nil, nil},
	}
}

func TestAgentCertsGenerate(t *testing.T) {
	tests := []struct {
		name   string
		p      product.Product
		node   string
		caNow  time.Time // later than gtNow-1h moves the leaves' NotBefore
		custom bool
	}{
		{"k3s", product.K3s, "sandbox", gtNow.Add(-30 * 24 * time.Hour), false},
		{"rke2 names", product.RKE2, "node-1", gtNow.Add(-30 * 24 * time.Hour), false},
		{"CA newer than now-1h", product.K3s, "n", gtNow.Add(30 * time.Minute), false},
		{"custom CA bundles", product.K3s, "sandbox", gtNow.Add(-time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := gtOpts(tt.caNow)
			o.Product = tt.p
			var cas *StagedSet
			var err error
			if tt.custom {
				cas, err = GenerateCustomCA(t.Context(), o, CustomCAInput{})
			} else {
				cas, err = GenerateDefaultCAs(o)
			}
			if err != nil {
				t.Fatal(err)
			}
			server := gtServerDir(t, cas)
			o.Now = gtNow
			set, err := GenerateAgentCerts(t.Context(), o, server, tt.node)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{AgentClientCA, AgentServerCA}
			for _, w := range acTable(tt.p, tt.node) {
				want = append(want, w.name+".crt", w.name+".key")
			}
			if got := gtPaths(set); !slices.Equal(got, want) {
				t.Fatalf("paths = %q\nwant %q", got, want)
			}
			for _, f := range set.Files {
				if f.Mode != 0o600 || f.Secret != (filepath.Ext(f.Path) == ".key") {
					t.Errorf("%s: mode %o secret %v, want 0600 like k3s's agent", f.Path, f.Mode, f.Secret)
				}
			}
			for _, c := range [][2]string{{AgentClientCA, "tls/client-ca.crt"}, {AgentServerCA, "tls/server-ca.crt"}} {
				if string(gtFile(t, set, c[0]).Data) != string(gtFile(t, cas, c[1]).Data) {
					t.Errorf("%s is not a byte copy of the server's %s", c[0], c[1])
				}
			}
			for _, w := range acTable(tt.p, tt.node) {
				acCheckCert(t, set, cas, w)
			}
		})
	}
}

// acCheckCert checks an agent certificate as a server leaf is checked.
func acCheckCert(t *testing.T, set, cas *StagedSet, w acWant) {
	t.Helper()
	gtCheckLeaf(t, set, cas, "", gtLeafWant{file: w.name, ca: w.ca, cn: w.cn, orgs: w.orgs,
		eku: []x509.ExtKeyUsage{w.eku}, dns: w.dns, ips: w.ips})
}

func TestAgentCertsReissue(t *testing.T) {
	cas, err := GenerateDefaultCAs(gtOpts(gtNow.Add(-24 * time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	server := gtServerDir(t, cas)
	first, err := GenerateAgentCerts(t.Context(), gtOpts(gtNow), server, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(t *testing.T, agent string)
		newKeys []string // key files the reissue stages (missing ones)
		wantErr error
	}{
		{name: "all keys present: all kept", newKeys: nil},
		{name: "missing keys are made", mutate: func(t *testing.T, agent string) {
			gtRemove(t, agent, "client-kubelet.key")
			gtRemove(t, agent, "serving-kubelet.key")
			gtRemove(t, agent, "serving-kubelet.crt")
		}, newKeys: []string{"serving-kubelet.key", "client-kubelet.key"}},
		{name: "unusable key is an error", mutate: func(t *testing.T, agent string) {
			tcWrite(t, agent, "client-kube-proxy.key", []byte("not a key\n"), 0o600)
		}, wantErr: ErrNoPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := filepath.Join(t.TempDir(), "agent")
			if err := first.Write(t.Context(), agent, gtNow); err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(t, agent)
			}
			set, err := ReissueAgentCerts(t.Context(), gtOpts(gtNow.Add(time.Hour)), server, agent, "sandbox")
			if testkit.ExpectErr(t, err, tt.wantErr) {
				return
			}
			var keys []string
			for _, f := range set.Files {
				if f.Secret {
					keys = append(keys, f.Path)
				}
			}
			if !slices.Equal(keys, tt.newKeys) {
				t.Fatalf("staged keys %q, want %q", keys, tt.newKeys)
			}
			for _, c := range AgentCerts(product.K3s, "sandbox") {
				keyData := gtFileOr(t, set, agent, c.Name+".key")
				crt := gtCerts(t, set, c.Name+".crt")[0]
				keys, err := ParsePrivateKeys(keyData)
				if err != nil || !PublicKeyEqual(keys[0].Public(), crt.PublicKey) {
					t.Errorf("%s.crt is not issued for the agent's key: %v", c.Name, err)
				}
				if !crt.NotBefore.Equal(gtNow) {
					t.Errorf("%s.crt NotBefore %v, want a new cert at now-1h", c.Name, crt.NotBefore)
				}
			}
		})
	}
}

// gtFileOr is the staged file p, or the file on disk under dir when not staged.
func gtFileOr(t *testing.T, s *StagedSet, dir, p string) []byte {
	t.Helper()
	if f, ok := s.File(p); ok {
		return f.Data
	}
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAgentCertsErrors(t *testing.T) {
	cas, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    GenOptions
		mutate  func(t *testing.T, dir string)
		node    string
		wantErr error
	}{
		{name: "no node name", opts: gtOpts(gtNow), wantErr: ErrNoNodeName},
		{name: "no clock", node: "n", wantErr: ErrNoClock},
		{name: "missing server CA key", opts: gtOpts(gtNow), node: "n", wantErr: fs.ErrNotExist,
			mutate: func(t *testing.T, dir string) { gtRemove(t, dir, "tls/server-ca.key") }},
		{name: "mismatched client CA key", opts: gtOpts(gtNow), node: "n", wantErr: ErrKeyDoesNotMatchCert,
			mutate: func(t *testing.T, dir string) { gtCopy(t, dir, "tls/server-ca.key", "tls/client-ca.key") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := gtServerDir(t, cas)
			if tt.mutate != nil {
				tt.mutate(t, dir)
			}
			if _, err := GenerateAgentCerts(t.Context(), tt.opts, dir, tt.node); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := ReissueAgentCerts(t.Context(), gtOpts(gtNow), gtServerDir(t, cas), "", "n"); err == nil {
		t.Fatal("reissue without an agent dir accepted")
	}
}
