package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
)

// TestNodesThroughTheAdminKubeconfig reads nodes from a k3s-shaped API
// server with the kubeconfig's client certificate, verifying the server
// against its CA.
func TestNodesThroughTheAdminKubeconfig(t *testing.T) {
	api := testservers.StartKubeAPI(t, testkit.Now,
		testservers.KubeNode{Name: "s1", InternalIP: "10.0.0.1", Roles: []string{"control-plane", "etcd", "master"}, Ready: "True"},
		testservers.KubeNode{Name: "a1", InternalIP: "10.0.0.4", Ready: "False"})
	kc, err := ParseKubeconfig(api.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(kc, 3*time.Second, testkit.Clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes: %v %d", err, len(nodes))
	}
	s1 := nodes[0]
	if s1.Name() != "s1" || s1.InternalIP() != "10.0.0.1" || s1.Metadata.Labels["node-role.kubernetes.io/etcd"] != "true" {
		t.Errorf("s1: %+v", s1)
	}
	a1, err := c.Node(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if cond, ok := a1.Ready(); !ok || cond.Status != "False" || cond.Reason != "KubeletNotReady" {
		t.Errorf("a1 Ready: %+v %v", cond, ok)
	}
	if _, err := c.Node(ctx, "nope"); !errors.Is(err, ErrNoSuchNode) || !strings.Contains(err.Error(), `nodes "nope" not found`) {
		t.Errorf("unknown node: %v", err)
	}

	// A client certificate of another CA is refused by the server.
	stranger, err := ParseKubeconfig(api.Stranger)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := NewClient(stranger, 3*time.Second, testkit.Clock)
	if _, err := sc.Nodes(ctx); err == nil {
		t.Error("a stranger's certificate was accepted")
	}
	// A CA that is not PEM is refused before any request.
	other, _ := ParseKubeconfig(api.Stranger)
	other.CA = []byte("not a certificate")
	if _, err := NewClient(other, time.Second, testkit.Clock); !errors.Is(err, ErrKubeconfig) {
		t.Errorf("a CA that is not PEM: %v", err)
	}
	// A server another CA signed is refused by the client.
	foreign := testservers.StartKubeAPI(t, testkit.Now)
	fk, _ := ParseKubeconfig(foreign.Kubeconfig)
	kc2 := *kc
	kc2.CA = fk.CA
	fc, _ := NewClient(&kc2, 3*time.Second, testkit.Clock)
	if _, err := fc.Nodes(ctx); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an API server the kubeconfig's CA did not sign: %v", err)
	}
}

func TestParseKubeconfigRefuses(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"not yaml", "{", "not YAML"},
		{"no cluster", "current-context: x\n", "not exactly one cluster"},
		{"http server", "clusters:\n- name: d\n  cluster:\n    server: http://127.0.0.1:6443\nusers:\n- name: d\n  user: {}\n", "not an https URL"},
		{"no CA", "clusters:\n- name: d\n  cluster:\n    server: https://127.0.0.1:6443\nusers:\n- name: d\n  user: {}\n", "no certificate-authority-data"},
		{"no client cert", "clusters:\n- name: d\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: eA==\nusers:\n- name: d\n  user:\n    client-certificate: /x.crt\n", "no client-certificate-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKubeconfig([]byte(tt.yaml))
			if !errors.Is(err, ErrKubeconfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestOnHost(t *testing.T) {
	api := testservers.StartKubeAPI(t, testkit.Now)
	kc, err := ParseKubeconfig(api.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	port := kc.Server.Port()
	moved := kc.OnHost("192.0.2.7")
	if moved.Server.Host != "192.0.2.7:"+port || moved.serverName != "127.0.0.1" || kc.Server.Host != "127.0.0.1:"+port {
		t.Errorf("moved %s (verified as %q), original %s", moved.Server, moved.serverName, kc.Server)
	}
	if v6 := kc.OnHost("2001:db8::1"); v6.Server.Host != "[2001:db8::1]:"+port {
		t.Errorf("IPv6: %s", v6.Server)
	}
}

// TestParseFile: every cluster, context and user in file order, embedded
// data decoded only when asked; a broken entry fails only what reads it;
// a key is never decoded by ParseFile nor shown in an error.
func TestParseFile(t *testing.T) {
	const doc = `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Y2EtYQ==
- name: b
  cluster:
    server: https://192.0.2.1:6443
    certificate-authority-data: not-base64!
contexts:
- name: a
  context: {cluster: a, user: u}
users:
- name: u
  user:
    client-certificate-data: Y2VydA==
    client-key-data: c2VjcmV0LWtleQ==
- name: v
  user:
    client-key-data: "%%%secret%%%"
`
	f, err := ParseFile([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if f.CurrentContext != "a" || len(f.Clusters) != 2 || len(f.Contexts) != 1 || len(f.Users) != 2 ||
		f.Clusters[1].Name != "b" || f.Clusters[1].Server != "https://192.0.2.1:6443" || f.Contexts[0] != (Context{Name: "a", Cluster: "a", User: "u"}) {
		t.Fatalf("parsed %+v", f)
	}
	if ca, err := f.Clusters[0].CA(); err != nil || string(ca) != "ca-a" {
		t.Errorf("cluster a CA %q, %v", ca, err)
	}
	if _, err := f.Clusters[1].CA(); !errors.Is(err, ErrKubeconfig) || !strings.Contains(err.Error(), `cluster "b": certificate-authority-data`) {
		t.Errorf("cluster b CA: %v", err)
	}
	if cert, err := f.Users[0].Cert(); err != nil || string(cert) != "cert" {
		t.Errorf("user u cert %q, %v", cert, err)
	}
	if cert, err := f.Users[1].Cert(); err != nil || cert != nil {
		t.Errorf("user v has no cert: %q, %v", cert, err)
	}
	if s := fmt.Sprintf("%+v %#v", f, f); strings.Contains(s, "secret-key") || strings.Contains(s, "c2VjcmV0LWtleQ") || strings.Contains(s, "%%%secret") {
		t.Errorf("a key in %s", s)
	}
	// The client's view reads the current context only: cluster b's
	// broken data does not matter; u's key is not a pair with its cert.
	if _, err := f.Client(); !errors.Is(err, ErrKubeconfig) || !strings.Contains(err.Error(), `user "u": the client certificate and key do not make a pair`) ||
		strings.Contains(err.Error(), "secret") {
		t.Errorf("client: %v", err)
	}
}
