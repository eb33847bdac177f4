package testservers

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// KubeNode is a node the fake API server reports, as k3s labels it.
type KubeNode struct {
	// Name is metadata.name; InternalIP its InternalIP address ("": none).
	Name, InternalIP string
	// Roles are the node-role.kubernetes.io/<role> labels set to "true"
	// (k3s: control-plane and master on every server, etcd on an etcd
	// member; none on an agent).
	Roles []string
	// Labels are more labels (a role label with another value, say).
	Labels map[string]string
	// Ready is the Ready condition's status: True, False or Unknown.
	Ready string
}

// KubeAPI is an HTTPS server answering GET /api/v1/nodes and
// /api/v1/nodes/<name> with the JSON a k3s API server sends, to clients
// presenting the admin certificate of its kubeconfig only: a stand-in for
// the k3s API server, which cannot run here.
type KubeAPI struct {
	// URL is https://127.0.0.1:<port>.
	URL string
	// Kubeconfig is an admin kubeconfig shaped as k3s's k3s.yaml, naming
	// URL, the server CA and the client certificate.
	Kubeconfig []byte
	// Stranger is a kubeconfig whose client certificate another CA signed.
	Stranger []byte

	mu       sync.Mutex
	nodes    []KubeNode
	requests []string
}

// StartKubeAPI starts the server with nodes; certificates are valid around
// now, which the server verifies client certificates at.
func StartKubeAPI(t testing.TB, now time.Time, nodes ...KubeNode) *KubeAPI {
	t.Helper()
	serverCA := newTestCA(t, "k3s-server-ca@1")
	clientCA := newTestCA(t, "k3s-client-ca@1")
	otherCA := newTestCA(t, "other-ca")
	serving := serverCA.issue(t, "k3s", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	admin := clientCA.issue(t, "system:admin", x509.ExtKeyUsageClientAuth)
	stranger := otherCA.issue(t, "system:admin", x509.ExtKeyUsageClientAuth)
	k := &KubeAPI{nodes: nodes}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(k.serve))
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving.pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		Time: func() time.Time { return now }, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	srv.StartTLS()
	t.Cleanup(srv.Close)
	k.URL = srv.URL
	k.Kubeconfig = kubeconfigYAML(srv.URL, serverCA.pem, admin)
	k.Stranger = kubeconfigYAML(srv.URL, serverCA.pem, stranger)
	return k
}

// SetReady sets a node's Ready status.
func (k *KubeAPI) SetReady(name, status string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.nodes {
		if k.nodes[i].Name == name {
			k.nodes[i].Ready = status
		}
	}
}

// Requests are the paths asked for, in order.
func (k *KubeAPI) Requests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.requests...)
}

func (k *KubeAPI) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests = append(k.requests, r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "system:admin" {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized", "")
		return
	}
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource", "")
		return
	}
	switch name, ok := strings.CutPrefix(r.URL.Path, "/api/v1/nodes/"); {
	case r.URL.Path == "/api/v1/nodes":
		items := []any{}
		for _, n := range k.nodes {
			items = append(items, nodeJSON(n))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "NodeList", "apiVersion": "v1",
			"metadata": map[string]any{"resourceVersion": "1234"}, "items": items})
	case ok && name != "":
		for _, n := range k.nodes {
			if n.Name == name {
				_ = json.NewEncoder(w).Encode(nodeJSON(n))
				return
			}
		}
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("nodes %q not found", name), name)
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", "")
	}
}

// writeStatus writes a metav1.Status as the API server does.
func writeStatus(w http.ResponseWriter, code int, reason, msg, name string) {
	w.WriteHeader(code)
	st := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure",
		"message": msg, "reason": reason, "code": code}
	if name != "" {
		st["details"] = map[string]any{"name": name, "kind": "nodes"}
	}
	_ = json.NewEncoder(w).Encode(st)
}

// nodeJSON is a Node object as k3s's API server returns it (abridged to
// the fields a node always has).
func nodeJSON(n KubeNode) map[string]any {
	labels := map[string]any{
		"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "k3s", "beta.kubernetes.io/os": "linux",
		"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux",
		"node.kubernetes.io/instance-type": "k3s",
	}
	for _, r := range n.Roles {
		labels["node-role.kubernetes.io/"+r] = "true"
	}
	for k, v := range n.Labels {
		labels[k] = v
	}
	addrs := []any{map[string]any{"type": "Hostname", "address": n.Name}}
	if n.InternalIP != "" {
		addrs = append([]any{map[string]any{"type": "InternalIP", "address": n.InternalIP}}, addrs...)
	}
	ready := map[string]any{"type": "Ready", "status": n.Ready, "lastHeartbeatTime": "2026-01-01T00:00:00Z",
		"lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
	if n.Ready != "True" {
		ready["reason"], ready["message"] = "KubeletNotReady", "container runtime network not ready"
	}
	return map[string]any{
		"kind": "Node", "apiVersion": "v1",
		"metadata": map[string]any{"name": n.Name, "uid": "00000000-0000-0000-0000-000000000001", "resourceVersion": "1234",
			"creationTimestamp": "2026-01-01T00:00:00Z", "labels": labels,
			"annotations": map[string]any{"k3s.io/node-args": "[\"server\"]", "node.alpha.kubernetes.io/ttl": "0"}},
		"spec": map[string]any{"podCIDR": "10.42.0.0/24", "podCIDRs": []any{"10.42.0.0/24"}, "providerID": "k3s://" + n.Name},
		"status": map[string]any{
			"addresses": addrs,
			"conditions": []any{
				map[string]any{"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
				map[string]any{"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
				map[string]any{"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
				ready,
			},
			"nodeInfo": map[string]any{"kubeletVersion": "v1.33.4+k3s1", "containerRuntimeVersion": "containerd://2.0.5-k3s2"},
		},
	}
}

// kubeconfigYAML is a kubeconfig as k3s writes k3s.yaml.
func kubeconfigYAML(server string, ca []byte, client issued) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64(ca), server, b64(client.certPEM), b64(client.keyPEM))
}

// Test certificates are valid on any date: etcd verifies client
// certificates at the machine's clock, which a test cannot pin.
var (
	validFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	validTo   = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// testCA is a CA for test certificates, valid on any date.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// issued is a certificate and key issued by a testCA.
type issued struct {
	certPEM, keyPEM []byte
	pair            tls.Certificate
}

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	c, key := testkit.MakeCert(t, testkit.CertSpec{CN: cn, IsCA: true, NotBefore: validFrom, NotAfter: validTo})
	return &testCA{cert: c, key: key, pem: testkit.CertPEM(c)}
}

func (ca *testCA) issue(t testing.TB, cn string, usage x509.ExtKeyUsage, ips ...net.IP) issued {
	t.Helper()
	c, key := testkit.MakeCert(t, testkit.CertSpec{CN: cn, NotBefore: validFrom, NotAfter: validTo, Parent: ca.cert, ParentKey: ca.key,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPs: ips})
	return issued{certPEM: testkit.CertPEM(c), keyPEM: testkit.KeyPEM(t, key), pair: testkit.TLSCert(c, key)}
}

// EtcdTLS are the files of an mTLS etcd laid out as k3s keeps them under
// <data-dir>/server/tls/etcd: server-ca.crt signs the server's and the
// client's certificates (client.crt, client.key); the server's are in
// Server.
type EtcdTLS struct {
	Server        ServerTLS
	CA, Cert, Key []byte
}

// NewEtcdTLS issues an etcd server CA, a serving certificate for
// 127.0.0.1 and the etcd-client certificate, written under dir.
func NewEtcdTLS(t testing.TB, dir string) *EtcdTLS {
	t.Helper()
	ca := newTestCA(t, "etcd-server-ca@1")
	srv := ca.issue(t, "etcd-server", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	cli := ca.issue(t, "etcd-client", x509.ExtKeyUsageClientAuth)
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &EtcdTLS{
		Server: ServerTLS{CAFile: write("server-ca.crt", ca.pem), CertFile: write("server.crt", srv.certPEM), KeyFile: write("server.key", srv.keyPEM)},
		CA:     ca.pem, Cert: cli.certPEM, Key: cli.keyPEM,
	}
}
