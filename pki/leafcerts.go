package pki

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"time"
)

// DefaultLeafSANs are the SANs k3s puts on its serving leaf certs on a plain
// single-node install, used by GenerateLeafCerts when GenOptions.SANs is nil.
var DefaultLeafSANs = []string{"localhost", "127.0.0.1", "::1"}

// Addresses k3s adds to the apiserver serving cert by default.
const (
	defaultClusterDomain      = "cluster.local"
	defaultAPIServerServiceIP = "10.43.0.1"
)

type sanKind int

const (
	sanNone sanKind = iota
	sanAPIServer
	sanLocalhost
	sanEtcd
	sanServing
)

// leafSpec is one row of the leaf table of spec 6.2.
type leafSpec struct {
	file string // under tls/, without .crt/.key
	ca   string // CA bootstrap field name
	cn   string
	orgs []string
	eku  []x509.ExtKeyUsage
	sans sanKind
}

var (
	leafEKUClient  = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	leafEKUServer  = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	leafEKUBoth    = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	leafOrgMasters = []string{"system:masters"}
)

func (g *genCtx) leafSpecs() []leafSpec {
	n := g.p.Name()
	return []leafSpec{
		{"client-admin", "ClientCA", "system:admin", leafOrgMasters, leafEKUClient, sanNone},
		{"client-supervisor", "ClientCA", "system:" + n + "-supervisor", leafOrgMasters, leafEKUClient, sanNone},
		{"client-controller", "ClientCA", "system:kube-controller-manager", nil, leafEKUClient, sanNone},
		{"client-scheduler", "ClientCA", "system:kube-scheduler", nil, leafEKUClient, sanNone},
		{"client-kube-apiserver", "ClientCA", "system:apiserver", leafOrgMasters, leafEKUClient, sanNone},
		{"client-" + n + "-cloud-controller", "ClientCA", n + "-cloud-controller-manager", nil, leafEKUClient, sanNone},
		{"serving-kube-apiserver", "ServerCA", "kube-apiserver", nil, leafEKUServer, sanAPIServer},
		{"kube-scheduler/kube-scheduler", "ServerCA", "kube-scheduler", nil, leafEKUServer, sanLocalhost},
		{"kube-controller-manager/kube-controller-manager", "ServerCA", "kube-controller-manager", nil, leafEKUServer, sanLocalhost},
		{"client-auth-proxy", "RequestHeaderCA", "system:auth-proxy", nil, leafEKUClient, sanNone},
		{"etcd/client", "ETCDServerCA", "etcd-client", nil, leafEKUClient, sanNone},
		{"etcd/server-client", "ETCDServerCA", "etcd-server", nil, leafEKUBoth, sanEtcd},
		{"etcd/peer-server-client", "ETCDPeerCA", "etcd-peer", nil, leafEKUBoth, sanEtcd},
	}
}

// sanList returns the DNS names and IPs of a SAN kind.
func (g *genCtx) sanList(k sanKind) ([]string, []net.IP) {
	var names []string
	switch k {
	case sanNone:
		return nil, nil
	case sanLocalhost:
		names = []string{"localhost", "127.0.0.1", "::1"}
	case sanAPIServer:
		names = append([]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc." + defaultClusterDomain, defaultAPIServerServiceIP}, g.sans...)
	case sanEtcd:
		names = append([]string{"kine.sock"}, g.sans...)
	case sanServing:
		names = append(append([]string{}, ServingCertSANs...), g.sans...)
	}
	var dns []string
	var ips []net.IP
	for _, s := range names {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, s)
		}
	}
	return dns, ips
}

// loadedCA is a CA bundle and its signing key as read from a server dir.
type loadedCA struct {
	bundle []*x509.Certificate
	pair   caPair
}

// loadServerCA reads <serverDir>/tls/<type>-ca.{crt,key}: every cert of the
// bundle and the first key, which must match the first cert.
func loadServerCA(serverDir string, ca CAType) (loadedCA, error) {
	certs, err := LoadBundle(ca.CertField().Abs(serverDir))
	if err != nil {
		return loadedCA{}, fmt.Errorf("%s CA: %w", ca.Type, err)
	}
	keys, err := LoadPrivateKeys(ca.KeyFieldInfo().Abs(serverDir))
	if err != nil {
		return loadedCA{}, fmt.Errorf("%s CA: %w", ca.Type, err)
	}
	if !PublicKeyEqual(keys[0].Public(), certs[0].PublicKey) {
		return loadedCA{}, fmt.Errorf("%s CA: first key of %s: %w", ca.Type, ca.KeyFieldInfo().Path, ErrKeyDoesNotMatchCert)
	}
	return loadedCA{bundle: certs, pair: caPair{cert: certs[0], key: keys[0]}}, nil
}

// GenerateLeafCerts stages the leaf certificates and derived files k3s
// issues at start (spec 6.2), signed by the CAs in serverDir/tls: new ECDSA
// P-256 keys, 365 days from max(now-1h, CA NotBefore), each cert file the
// leaf followed by every cert of its CA bundle. It also stages the key-only
// legacy agent keys, client-ca.nochain.crt, server-ca.nochain.crt and
// service.current.key. It is meant for sandbox data dirs and tests.
func GenerateLeafCerts(ctx context.Context, opts GenOptions, serverDir string) (*StagedSet, error) {
	g, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	cas := map[string]loadedCA{}
	for _, ca := range CATypes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if cas[ca.Field], err = loadServerCA(serverDir, ca); err != nil {
			return nil, err
		}
	}
	set := &StagedSet{Kind: "leaf-certs"}
	for _, l := range g.leafSpecs() {
		if err := g.stageLeaf(set, l, cas[l.ca]); err != nil {
			return nil, err
		}
	}
	if err := g.stageLegacyKeys(set); err != nil {
		return nil, err
	}
	set.addCerts(ClientCANoChain, "first cert of client-ca.crt", cas["ClientCA"].bundle[0])
	set.addCerts(ServerCANoChain, "first cert of server-ca.crt", cas["ServerCA"].bundle[0])
	if err := stageCurrentServiceKey(ctx, set, serverDir); err != nil {
		return nil, err
	}
	return set, nil
}

// leafNotBefore is a leaf's NotBefore under ca (spec 6.2): max(now - 1h,
// the CA's NotBefore).
func (g *genCtx) leafNotBefore(ca *x509.Certificate) time.Time {
	nb := g.now.Add(-genBackdate)
	if ca.NotBefore.After(nb) {
		nb = ca.NotBefore
	}
	return nb
}

func (g *genCtx) stageLeaf(set *StagedSet, l leafSpec, ca loadedCA) error {
	nb := g.leafNotBefore(ca.pair.cert)
	dns, ips := g.sanList(l.sans)
	spec := certSpec{cn: l.cn, orgs: l.orgs, notBefore: nb, validity: LeafValidity, eku: l.eku, dns: dns, ips: ips}
	pair, err := g.newPair(KeyECDSAP256, spec, &ca.pair)
	if err != nil {
		return fmt.Errorf("leaf %s: %w", l.file, err)
	}
	set.addCerts("tls/"+l.file+".crt", "leaf "+l.cn+" + CA bundle", append([]*x509.Certificate{pair.cert}, ca.bundle...)...)
	return set.addKeys("tls/"+l.file+".key", "key of "+l.file+".crt", pair.key)
}

// stageLegacyKeys adds the key-only files k3s keeps for agents that send no CSR.
func (g *genCtx) stageLegacyKeys(set *StagedSet) error {
	n := g.p.Name()
	for _, f := range []string{"client-kube-proxy", "client-" + n + "-controller", "client-kubelet", "serving-kubelet"} {
		key, err := g.newKey(KeyECDSAP256)
		if err != nil {
			return err
		}
		if err := set.addKeys("tls/"+f+".key", "shared agent key (used without a CSR)", key); err != nil {
			return err
		}
	}
	return nil
}

// stageCurrentServiceKey adds service.current.key: the first key of service.key.
func stageCurrentServiceKey(ctx context.Context, set *StagedSet, serverDir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	keys, err := LoadPrivateKeys(filepath.Join(serverDir, filepath.FromSlash(ServiceKeyPath)))
	if err != nil {
		return fmt.Errorf("service key: %w", err)
	}
	return set.addKeys(ServiceCurrentKey, "first key of service.key", keys[0])
}
