package datastore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
)

// tpCA is an in-memory test certificate authority.
type tpCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// tpKey generates a P-256 key.
func tpKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

// tpSKI is a subject key id: SHA-1 over the DER public key.
func tpSKI(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	sum := sha1.Sum(der)
	return sum[:]
}

// tpNewCA creates a self-signed root CA valid around now.
func tpNewCA(t *testing.T, cn string) *tpCA {
	t.Helper()
	key := tpKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testkit.Now.AddDate(-30, 0, 0), // real etcd checks with the wall clock: valid on any date
		NotAfter:              testkit.Now.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          tpSKI(t, key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse CA: %v", err)
	}
	return &tpCA{cert: cert, key: key, pem: tpCertPEM(der)}
}

// tpIssue signs a leaf for the given usages; server leaves get 127.0.0.1 and localhost.
func (ca *tpCA) tpIssue(t *testing.T, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key := tpKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    testkit.Now.AddDate(-30, 0, 0),
		NotAfter:     testkit.Now.AddDate(30, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatalf("issue %s: %v", cn, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return tpCertPEM(der), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// tpTLSCert issues a server leaf as a tls.Certificate.
func (ca *tpCA) tpTLSCert(t *testing.T) tls.Certificate {
	t.Helper()
	certPEM, keyPEM := ca.tpIssue(t, "test-server", x509.ExtKeyUsageServerAuth)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	return pair
}

func tpCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// tpWrite writes data to dir/name (mode 0600) and returns the path.
func tpWrite(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}

// tpLoadCA loads a CA from PEM cert and key files (the first cert and key).
func tpLoadCA(t *testing.T, certPath, keyPath string) *tpCA {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatalf("load CA %s: %v", certPath, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatalf("parse CA %s: %v", certPath, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		t.Fatalf("CA key %s is not a signer", keyPath)
	}
	data, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatalf("read %s: %v", certPath, err)
	}
	return &tpCA{cert: cert, key: signer, pem: data}
}

// tpBody builds the bootstrap JSON rotate-ca would send for a staged set.
func tpBody(t *testing.T, s *tpK3sServer, stage string) []byte {
	t.Helper()
	ctx := context.Background()
	opts := pki.GenOptions{Now: testkit.Now}
	var set *pki.StagedSet
	var err error
	if stage == "rotation" {
		set, err = pki.GenerateRotation(ctx, opts, s.currentDir)
	} else {
		set, err = pki.GenerateDefaultCAs(opts)
	}
	if err != nil {
		t.Fatalf("stage %s: %v", stage, err)
	}
	dir := t.TempDir()
	if err := set.Write(ctx, dir, testkit.Now); err != nil {
		t.Fatalf("write staged: %v", err)
	}
	b, _, err := Build(ctx, BuildInput{CurrentDir: s.currentDir, StagedDir: dir, Now: testkit.Now})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	body, err := b.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return body
}

// testClock is the pinned clock as a func, for the fields that take one.
func testClock() time.Time { return testkit.Now }
