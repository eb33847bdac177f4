package pki

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/product"
)

type gtLeafWant struct {
	file, ca, cn string
	orgs         []string
	eku          []x509.ExtKeyUsage
	dns          []string
	ips          []string
}

func gtLeafTable(p product.Product) []gtLeafWant {
	n := p.Name()
	cli := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	srv := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	m := []string{"system:masters"}
	local := []string{"127.0.0.1", "::1"}
	return []gtLeafWant{
		{"client-admin", "client", "system:admin", m, cli, nil, nil},
		{"client-supervisor", "client", "system:" + n + "-supervisor", m, cli, nil, nil},
		{"client-controller", "client", "system:kube-controller-manager", nil, cli, nil, nil},
		{"client-scheduler", "client", "system:kube-scheduler", nil, cli, nil, nil},
		{"client-kube-apiserver", "client", "system:apiserver", m, cli, nil, nil},
		{"client-" + n + "-cloud-controller", "client", n + "-cloud-controller-manager", nil, cli, nil, nil},
		{"serving-kube-apiserver", "server", "kube-apiserver", nil, srv,
			[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"},
			[]string{"10.43.0.1", "127.0.0.1", "::1"}},
		{"kube-scheduler/kube-scheduler", "server", "kube-scheduler", nil, srv, []string{"localhost"}, local},
		{"kube-controller-manager/kube-controller-manager", "server", "kube-controller-manager", nil, srv, []string{"localhost"}, local},
		{"client-auth-proxy", "request-header", "system:auth-proxy", nil, cli, nil, nil},
		{"etcd/client", "etcd/server", "etcd-client", nil, cli, nil, nil},
		{"etcd/server-client", "etcd/server", "etcd-server", nil, both, []string{"kine.sock", "localhost"}, local},
		{"etcd/peer-server-client", "etcd/peer", "etcd-peer", nil, both, []string{"kine.sock", "localhost"}, local},
	}
}

func TestGenLeafCerts(t *testing.T) {
	tests := []struct {
		name    string
		product product.Product
		caNow   time.Time // clock of the CAs; later than gtNow-1h moves leaf NotBefore
		custom  bool
	}{
		{"default CAs", product.K3s, gtNow.Add(-30 * 24 * time.Hour), false},
		{"CA newer than now-1h", product.RKE2, gtNow.Add(30 * time.Minute), false},
		{"custom CA bundles", product.K3s, gtNow.Add(-time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := gtOpts(tc.caNow)
			o.Product = tc.product
			var cas *StagedSet
			var err error
			if tc.custom {
				cas, err = GenerateCustomCA(t.Context(), o, CustomCAInput{})
			} else {
				cas, err = GenerateDefaultCAs(o)
			}
			if err != nil {
				t.Fatal(err)
			}
			dir := gtServerDir(t, cas)
			o.Now = gtNow
			set, err := GenerateLeafCerts(t.Context(), o, dir)
			if err != nil {
				t.Fatal(err)
			}
			gtCheckLeafSet(t, set, cas, tc.product)
		})
	}
}

func gtCheckLeafSet(t *testing.T, set, cas *StagedSet, p product.Product) {
	t.Helper()
	want := gtLeafTable(p)
	n := p.Name()
	if len(set.Files) != 2*len(want)+4+3 {
		t.Errorf("%d files, want %d", len(set.Files), 2*len(want)+7)
	}
	for _, w := range want {
		gtCheckLeaf(t, set, cas, "tls/", w)
	}
	for _, k := range []string{"client-kube-proxy", "client-" + n + "-controller", "client-kubelet", "serving-kubelet"} {
		if f := gtFile(t, set, "tls/"+k+".key"); !f.Secret || f.Mode != 0o600 {
			t.Errorf("%s.key: not a secret 0600 file", k)
		}
	}
	for _, nc := range [][2]string{{ClientCANoChain, "tls/client-ca.crt"}, {ServerCANoChain, "tls/server-ca.crt"}} {
		first := gtCerts(t, cas, nc[1])[0]
		if got := gtFile(t, set, nc[0]).Data; string(got) != string(EncodeCert(first)) {
			t.Errorf("%s is not the first cert of %s", nc[0], nc[1])
		}
	}
	svc, _ := ParsePrivateKeys(gtFile(t, cas, ServiceKeyPath).Data)
	cur, err := ParsePrivateKeys(gtFile(t, set, ServiceCurrentKey).Data)
	if err != nil || len(cur) != 1 || !PublicKeyEqual(cur[0].Public(), svc[0].Public()) {
		t.Errorf("service.current.key is not the first key of service.key: %v", err)
	}
}

// gtCheckLeaf checks the leaf dir+w.file of set against the table row w
// and the CA bundles of cas (spec 6.2): dir is "tls/" for a server's
// leaves, "" for an agent's.
func gtCheckLeaf(t *testing.T, set, cas *StagedSet, dir string, w gtLeafWant) {
	t.Helper()
	certPath, keyPath := dir+w.file+".crt", dir+w.file+".key"
	certs := gtCerts(t, set, certPath)
	bundle := gtCerts(t, cas, "tls/"+w.ca+"-ca.crt")
	if len(certs) != 1+len(bundle) {
		t.Fatalf("%s: %d certs, want leaf + %d", w.file, len(certs), len(bundle))
	}
	for i, c := range bundle {
		if !certs[i+1].Equal(c) {
			t.Errorf("%s: cert %d is not CA bundle cert %d", w.file, i+2, i+1)
		}
	}
	c, ca := certs[0], bundle[0]
	nb := gtNow.Add(-time.Hour)
	if ca.NotBefore.After(nb) {
		nb = ca.NotBefore
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"CN", c.Subject.CommonName == w.cn},
		{"O", slices.Equal(c.Subject.Organization, w.orgs)},
		{"EKU", slices.Equal(c.ExtKeyUsage, w.eku)},
		{"DNS SANs " + strings.Join(c.DNSNames, ","), slices.Equal(c.DNSNames, w.dns)},
		{"IP SANs " + strings.Join(ips, ","), slices.Equal(ips, w.ips)},
		{"signed by CA", c.CheckSignatureFrom(ca) == nil},
		{"AKI = CA SKI", len(c.AuthorityKeyId) > 0 && string(c.AuthorityKeyId) == string(ca.SubjectKeyId)},
		{"no SKI", len(c.SubjectKeyId) == 0},
		{"no basic constraints", !c.BasicConstraintsValid && !c.IsCA},
		{"key usage", c.KeyUsage == x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment},
		{"NotBefore", c.NotBefore.Equal(nb)},
		{"NotAfter", c.NotAfter.Equal(nb.Add(365 * 24 * time.Hour))},
		{"P-256 key", KeyTypeOf(c.PublicKey) == KeyECDSAP256},
		{"serial", c.SerialNumber.Sign() > 0 && c.SerialNumber.BitLen() <= 63},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s: %s failed", w.file, ch.what)
		}
	}
	gtKeyPair(t, set, certPath, keyPath)
	gtVerifyLeaf(t, w.file, certs, c.ExtKeyUsage[0])
}

// gtVerifyLeaf verifies the leaf against the bundle's last cert as root.
func gtVerifyLeaf(t *testing.T, name string, certs []*x509.Certificate, eku x509.ExtKeyUsage) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	for _, c := range certs[1 : len(certs)-1] {
		inters.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: gtNow, KeyUsages: []x509.ExtKeyUsage{eku}}
	if _, err := certs[0].Verify(opts); err != nil {
		t.Errorf("%s: verify: %v", name, err)
	}
}

func TestGenLeafCertsErrors(t *testing.T) {
	cas, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		wantErr error
	}{
		{"missing CA", func(t *testing.T, dir string) { gtRemove(t, dir, "tls/etcd/server-ca.key") }, fs.ErrNotExist},
		{"mismatched key", func(t *testing.T, dir string) { gtCopy(t, dir, "tls/server-ca.key", "tls/client-ca.key") }, ErrKeyDoesNotMatchCert},
		{"missing service key", func(t *testing.T, dir string) { gtRemove(t, dir, "tls/service.key") }, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := gtServerDir(t, cas)
			tc.mutate(t, dir)
			if _, err := GenerateLeafCerts(t.Context(), gtOpts(gtNow), dir); !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	o := gtOpts(gtNow)
	o.SANs = []string{"node1.example", "192.0.2.7"}
	set, err := GenerateLeafCerts(t.Context(), o, gtServerDir(t, cas))
	if err != nil {
		t.Fatal(err)
	}
	c := gtCerts(t, set, "tls/etcd/server-client.crt")[0]
	if !slices.Equal(c.DNSNames, []string{"kine.sock", "node1.example"}) || len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.ParseIP("192.0.2.7")) {
		t.Errorf("custom SANs: %v %v", c.DNSNames, c.IPAddresses)
	}
}
