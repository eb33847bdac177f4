package sandbox_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
	"github.com/k3sca/k3sca/steps"
)

// saOpts is the clock and product of an agent start in these tests.
func saOpts(now time.Time) pki.GenOptions {
	return pki.GenOptions{Product: product.K3s, Now: now}
}

// saAgentSandbox is a sandbox whose server also runs its agent, as a real
// k3s server does.
func saAgentSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb := sandboxtest.New(t)
	if err := sandbox.WriteAgentDir(context.Background(), saOpts(testkit.Now.Add(-24*time.Hour)), sb.DataDir, sandbox.AgentNode); err != nil {
		t.Fatal(err)
	}
	return sb
}

// saChanged lists the files that differ between two snapshots, sorted.
func saChanged(before, after map[string]string) []string {
	var out []string
	for p, a := range after {
		if b, ok := before[p]; !ok || a != b {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, p+" (removed)")
		}
	}
	sort.Strings(out)
	return out
}

// saAgentFiles are the files of a sandbox agent dir, sorted.
var saAgentFiles = []string{
	"client-ca.crt", "client-k3s-controller.crt", "client-k3s-controller.key", "client-kube-proxy.crt", "client-kube-proxy.key",
	"client-kubelet.crt", "client-kubelet.key", "server-ca.crt", "serving-kubelet.crt", "serving-kubelet.key",
}

func TestSandboxAgentWriteDir(t *testing.T) {
	sb := sandboxtest.New(t)
	now := testkit.Now
	if err := sandbox.WriteAgentDir(context.Background(), saOpts(now), sb.DataDir, sandbox.AgentNode); err != nil {
		t.Fatal(err)
	}
	agent := pki.AgentDir(sb.DataDir)
	snap := sandboxtest.Snapshot(t, agent)
	var names []string
	for p := range snap {
		names = append(names, p)
	}
	sort.Strings(names)
	if !slices.Equal(names, saAgentFiles) {
		t.Fatalf("agent dir holds %q\nwant %q", names, saAgentFiles)
	}
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(agent, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || !fi.ModTime().Equal(now) {
			t.Errorf("%s: mode %o mtime %v, want 0600 at %v", n, fi.Mode().Perm(), fi.ModTime(), now)
		}
	}
	for _, c := range [][2]string{{"client-ca.crt", "tls/client-ca.crt"}, {"server-ca.crt", "tls/server-ca.crt"}} {
		want, err := os.ReadFile(filepath.Join(sb.ServerDir, c[1]))
		got, _ := os.ReadFile(filepath.Join(agent, c[0]))
		if err != nil || string(got) != string(want) {
			t.Errorf("agent %s is not the server's %s: %v", c[0], c[1], err)
		}
	}
	sandboxtest.CheckAgentSigned(t, sb.ServerDir, agent)
	serving, err := pki.LoadBundle(filepath.Join(agent, "serving-kubelet.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if c := serving[0]; c.Subject.CommonName != "sandbox" || !slices.Equal(c.DNSNames, []string{"sandbox", "localhost"}) ||
		len(c.IPAddresses) != 2 || !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("serving-kubelet.crt: CN %q DNS %v IP %v EKU %v", c.Subject.CommonName, c.DNSNames, c.IPAddresses, c.ExtKeyUsage)
	}

	// check lists the agent's certificates and CA copies beside the server's
	inv, err := steps.Check(context.Background(), steps.CheckInput{DataDir: sb.DataDir, Product: product.K3s, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range append(append([]pki.CertInfo{}, inv.CAs...), inv.Leaves...) {
		rel, _ := filepath.Rel(sb.DataDir, c.Path)
		if filepath.Dir(rel) == "agent" {
			got[filepath.ToSlash(rel)+" "+c.Service] = c.Subject + " " + string(c.Status)
		}
	}
	born := testkit.Now.Add(-24 * time.Hour).Unix() // stSandbox's clock names the CAs
	want := map[string]string{
		"agent/client-ca.crt agent/client":               fmt.Sprintf("k3s-client-ca@%d OK", born),
		"agent/server-ca.crt agent/server":               fmt.Sprintf("k3s-server-ca@%d OK", born),
		"agent/serving-kubelet.crt kubelet":              "sandbox OK",
		"agent/client-kubelet.crt kubelet":               "system:node:sandbox OK",
		"agent/client-kube-proxy.crt kube-proxy":         "system:kube-proxy OK",
		"agent/client-k3s-controller.crt k3s-controller": "system:k3s-controller OK",
	}
	if len(got) != len(want) {
		t.Errorf("agent entries of check = %q\nwant %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("check %s = %q, want %q", k, got[k], v)
		}
	}
	// only the legacy server-side certs k3s deletes at every start are missing
	wantMissing := []string{filepath.Join(sb.ServerDir, "tls/client-k3s-controller.crt"), filepath.Join(sb.ServerDir, "tls/client-kube-proxy.crt")}
	sort.Strings(inv.Missing)
	if !slices.Equal(inv.Missing, wantMissing) {
		t.Errorf("Missing = %q\nwant %q", inv.Missing, wantMissing)
	}
}

func TestSandboxAgentReissue(t *testing.T) {
	now := testkit.Now
	rm := func(t *testing.T, dir string, rels ...string) {
		t.Helper()
		for _, rel := range rels {
			if err := os.Remove(filepath.Join(dir, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
	certsAndCopies := []string{"client-ca.crt", "client-k3s-controller.crt", "client-kube-proxy.crt", "client-kubelet.crt", "server-ca.crt", "serving-kubelet.crt"}
	tests := []struct {
		name        string
		mutate      func(t *testing.T, sb *sandbox.Sandbox, agent string)
		wantChanged []string // files rewritten, sorted
		noAgent     bool
	}{
		{name: "plain restart: nothing to do"},
		{
			name: "kubelet rotated: pair re-issued with a new key",
			mutate: func(t *testing.T, sb *sandbox.Sandbox, agent string) {
				rm(t, agent, "client-kubelet.crt", "client-kubelet.key")
			},
			wantChanged: []string{"client-kubelet.crt", "client-kubelet.key"},
		},
		{
			name:        "cert alone missing: the key is kept",
			mutate:      func(t *testing.T, sb *sandbox.Sandbox, agent string) { rm(t, agent, "serving-kubelet.crt") },
			wantChanged: []string{"serving-kubelet.crt"},
		},
		{
			name:        "key alone missing: a new key and its cert",
			mutate:      func(t *testing.T, sb *sandbox.Sandbox, agent string) { rm(t, agent, "client-kube-proxy.key") },
			wantChanged: []string{"client-kube-proxy.crt", "client-kube-proxy.key"},
		},
		{
			name:        "CA copy missing",
			mutate:      func(t *testing.T, sb *sandbox.Sandbox, agent string) { rm(t, agent, "server-ca.crt") },
			wantChanged: []string{"server-ca.crt"},
		},
		{
			name: "unparsable cert",
			mutate: func(t *testing.T, sb *sandbox.Sandbox, agent string) {
				if err := os.WriteFile(filepath.Join(agent, "client-k3s-controller.crt"), []byte("garbage\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantChanged: []string{"client-k3s-controller.crt"},
		},
		{
			name: "CAs replaced: everything re-issued, keys kept",
			mutate: func(t *testing.T, sb *sandbox.Sandbox, agent string) {
				cas, err := pki.GenerateDefaultCAs(saOpts(now.Add(-time.Hour)))
				if err != nil {
					t.Fatal(err)
				}
				if err := cas.Write(context.Background(), sb.ServerDir, now); err != nil {
					t.Fatal(err)
				}
			},
			wantChanged: certsAndCopies,
		},
		{
			name: "server bundle gained a cert, same signer: everything re-issued",
			mutate: func(t *testing.T, sb *sandbox.Sandbox, agent string) {
				p := filepath.Join(sb.ServerDir, "tls/client-ca.crt")
				b, err := os.ReadFile(p)
				extra, err2 := os.ReadFile(filepath.Join(sb.ServerDir, "tls/request-header-ca.crt"))
				if err != nil || err2 != nil {
					t.Fatal(err, err2)
				}
				if err := os.WriteFile(p, append(b, extra...), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantChanged: certsAndCopies,
		},
		{
			name: "no agent dir (--disable-agent): nothing written",
			mutate: func(t *testing.T, sb *sandbox.Sandbox, agent string) {
				if err := os.RemoveAll(agent); err != nil {
					t.Fatal(err)
				}
			},
			noAgent: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := saAgentSandbox(t)
			agent := pki.AgentDir(sb.DataDir)
			if tt.mutate != nil {
				tt.mutate(t, sb, agent)
			}
			var before map[string]string
			if !tt.noAgent {
				before = sandboxtest.Snapshot(t, agent)
			}
			n, err := sandbox.ReissueMissingAgentCerts(context.Background(), saOpts(now), sb.DataDir, sandbox.AgentNode)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.wantChanged) {
				t.Errorf("wrote %d files, want %d", n, len(tt.wantChanged))
			}
			if tt.noAgent {
				if _, err := os.Stat(agent); !os.IsNotExist(err) {
					t.Fatalf("agent dir created: %v", err)
				}
				return
			}
			after := sandboxtest.Snapshot(t, agent)
			if got := saChanged(before, after); !slices.Equal(got, tt.wantChanged) {
				t.Errorf("changed %q, want %q", got, tt.wantChanged)
			}
			for _, p := range tt.wantChanged {
				fi, err := os.Stat(filepath.Join(agent, p))
				if err != nil || fi.Mode().Perm() != 0o600 || !fi.ModTime().Equal(now) {
					t.Errorf("%s: %v %v, want 0600 at the clock", p, fi, err)
				}
			}
			sandboxtest.CheckAgentSigned(t, sb.ServerDir, agent)
			// a second start finds nothing more to do
			if n, err := sandbox.ReissueMissingAgentCerts(context.Background(), saOpts(now.Add(time.Minute)), sb.DataDir, sandbox.AgentNode); err != nil || n != 0 {
				t.Errorf("second start wrote %d files (%v), want 0", n, err)
			}
		})
	}
}
