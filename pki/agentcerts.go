package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// Files of an agent dir (<data-dir>/agent, called A in the spec), relative to it.
const (
	// AgentClientCA is the agent's copy of the server's tls/client-ca.crt.
	AgentClientCA = "client-ca.crt"
	// AgentServerCA is the agent's copy of the server's tls/server-ca.crt.
	AgentServerCA = "server-ca.crt"
)

// AgentFileMode is the mode of every certificate and key file an agent
// writes: k3s's agent (pkg/agent/config) writes each response with
// os.WriteFile(..., 0600), the CA copies included.
const AgentFileMode fs.FileMode = fsutil.ModeSecret

// AgentDir is the agent dir of a k3s data dir.
func AgentDir(dataDir string) string { return filepath.Join(dataDir, "agent") }

// AgentCert is one certificate a k3s server signs for an agent (spec 6.2
// "Agent certs").
type AgentCert struct {
	// Name is the file stem in the agent dir: Name+".crt" and Name+".key".
	Name string
	// CA is the bootstrap field of the signing CA bundle: "ServerCA" or "ClientCA".
	CA string
	// CN and Orgs are the subject.
	CN   string
	Orgs []string
	// Serving marks the kubelet serving cert (EKU server auth; SANs the node
	// name, localhost, 127.0.0.1, ::1); the others are client certs.
	Serving bool
}

// AgentCerts lists the certificates of the agent named node, in the order a
// k3s agent requests them. The controller's file and CN carry the program
// name (client-rke2-controller, system:rke2-controller).
func AgentCerts(p product.Product, node string) []AgentCert {
	n := p.Name()
	return []AgentCert{
		{Name: "serving-kubelet", CA: "ServerCA", CN: node, Serving: true},
		{Name: "client-kubelet", CA: "ClientCA", CN: "system:node:" + node, Orgs: []string{"system:nodes"}},
		{Name: "client-kube-proxy", CA: "ClientCA", CN: "system:kube-proxy"},
		{Name: "client-" + n + "-controller", CA: "ClientCA", CN: "system:" + n + "-controller"},
	}
}

// ErrNoNodeName refuses agent certificates without a node name.
var ErrNoNodeName = errors.New("agent certificates need a node name")

// GenerateAgentCerts stages, relative to the agent dir, the files the agent
// named node of the server in serverDir holds after it started: the four
// certificates of AgentCerts, each with a new ECDSA P-256 key, signed by the
// server's ClientCA or ServerCA as a k3s server signs them (365 days from
// max(now-1h, CA NotBefore), no SKI, AKI = the CA's SKI), each cert file the
// leaf followed by every cert of the CA bundle; and the byte-exact copies
// client-ca.crt and server-ca.crt of the server's bundles. Every file has
// mode AgentFileMode. It is meant for sandbox data dirs and tests.
func GenerateAgentCerts(ctx context.Context, opts GenOptions, serverDir, node string) (*StagedSet, error) {
	return stageAgentCerts(ctx, opts, serverDir, "", node)
}

// ReissueAgentCerts stages what the agent named node writes when it
// re-requests its certificates at start: every certificate and both CA
// copies again, like GenerateAgentCerts, but signed for the private keys
// already in agentDir. A k3s agent sends a CSR made from its local key
// (LoadOrGenerateKeyFile), so it keeps a key that exists and makes a new one
// only when the key file is missing; only such new keys are staged. A key
// file that exists but holds no usable key is an error, as it is for k3s.
func ReissueAgentCerts(ctx context.Context, opts GenOptions, serverDir, agentDir, node string) (*StagedSet, error) {
	if agentDir == "" {
		return nil, errors.New("reissue agent certificates: agent dir is empty")
	}
	return stageAgentCerts(ctx, opts, serverDir, agentDir, node)
}

// stageAgentCerts reuses the keys of agentDir when it is not "".
func stageAgentCerts(ctx context.Context, opts GenOptions, serverDir, agentDir, node string) (*StagedSet, error) {
	if node == "" {
		return nil, ErrNoNodeName
	}
	g, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	cas := map[string]loadedCA{}
	raw := map[string][]byte{}
	for _, field := range []string{"ClientCA", "ServerCA"} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ca, _ := CAByField(field)
		if cas[field], err = loadServerCA(serverDir, ca); err != nil {
			return nil, fmt.Errorf("agent certificates: %w", err)
		}
		// The agent downloads the bundle file as it is (GET /v1-k3s/<file>).
		if raw[field], err = os.ReadFile(ca.CertField().Abs(serverDir)); err != nil {
			return nil, fmt.Errorf("agent certificates: %w", err)
		}
	}
	set := &StagedSet{Kind: "agent-certs"}
	set.addAgentFile(AgentClientCA, "copy of the server's client-ca.crt", raw["ClientCA"])
	set.addAgentFile(AgentServerCA, "copy of the server's server-ca.crt", raw["ServerCA"])
	for _, c := range AgentCerts(g.p, node) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := g.stageAgentCert(set, c, cas[c.CA], agentDir); err != nil {
			return nil, fmt.Errorf("agent certificate %s: %w", c.Name, err)
		}
	}
	return set, nil
}

// stageAgentCert issues c for the key in agentDir (when given and present)
// or for a new P-256 key, which is then staged too.
func (g *genCtx) stageAgentCert(set *StagedSet, c AgentCert, ca loadedCA, agentDir string) error {
	var key crypto.Signer
	if agentDir != "" {
		k, err := loadAgentKey(filepath.Join(agentDir, c.Name+".key"))
		if err != nil {
			return err
		}
		key = k
	}
	newKey := key == nil
	if newKey {
		k, err := g.newKey(KeyECDSAP256)
		if err != nil {
			return err
		}
		key = k
	}
	nb := g.leafNotBefore(ca.pair.cert)
	spec := certSpec{cn: c.CN, orgs: c.Orgs, notBefore: nb, validity: LeafValidity, eku: leafEKUClient}
	if c.Serving {
		spec.eku = leafEKUServer
		spec.dns = []string{c.CN, "localhost"}
		spec.ips = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	}
	cert, err := g.issue(spec, key, ca.pair.cert, ca.pair.key)
	if err != nil {
		return err
	}
	var data []byte
	for _, crt := range append([]*x509.Certificate{cert}, ca.bundle...) {
		data = append(data, EncodeCert(crt)...)
	}
	set.addAgentFile(c.Name+".crt", "agent leaf "+c.CN+" + CA bundle", data)
	if newKey {
		if err := set.addKeys(c.Name+".key", "key of the agent's "+c.Name+".crt", key); err != nil {
			return err
		}
	}
	return nil
}

// loadAgentKey reads the one key of an agent key file; a missing file gives nil.
func loadAgentKey(path string) (crypto.Signer, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	keys, err := LoadPrivateKeys(path)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// addAgentFile stages a certificate file of the agent dir (mode AgentFileMode,
// shown in previews: certificates are not secret).
func (s *StagedSet) addAgentFile(p, purpose string, data []byte) {
	s.Files = append(s.Files, StagedFile{Path: p, Data: data, Mode: AgentFileMode, Purpose: purpose})
}
