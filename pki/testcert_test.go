package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tcEpoch is the pinned clock of this helper's tests.
var tcEpoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// tcSpec describes a certificate to build in a test.
type tcSpec struct {
	CN        string
	CA        bool
	NotBefore time.Time
	NotAfter  time.Time
	EKU       []x509.ExtKeyUsage
	Serial    int64
	Key       crypto.Signer     // nil: a fresh P-256 key
	Parent    *x509.Certificate // nil: self-signed
	ParentKey crypto.Signer
	// SelfAKI sets AKI = SKI on a self-signed CA, as openssl's keyid:always does.
	SelfAKI bool
}

// tcKey returns a fresh ECDSA P-256 key.
func tcKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

// tcMake builds a certificate from s and returns it with its key.
func tcMake(t testing.TB, s tcSpec) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := s.Key
	if key == nil {
		key = tcKey(t)
	}
	if s.NotBefore.IsZero() {
		s.NotBefore = tcEpoch.Add(-time.Hour)
	}
	if s.NotAfter.IsZero() {
		s.NotAfter = s.NotBefore.Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(s.Serial),
		Subject:      pkix.Name{CommonName: s.CN},
		NotBefore:    s.NotBefore,
		NotAfter:     s.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  s.EKU,
	}
	if s.CA {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.SubjectKeyId = tcSKI(t, key.Public())
		if s.SelfAKI {
			tmpl.AuthorityKeyId = tmpl.SubjectKeyId
		}
	}
	parent, parentKey := tmpl, key
	if s.Parent != nil {
		parent, parentKey = s.Parent, s.ParentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatalf("create certificate %s: %v", s.CN, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate %s: %v", s.CN, err)
	}
	return c, key
}

// tcSKI derives a subject key id from the public key's PKIX encoding.
func tcSKI(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

// tcPEM concatenates the PEM encodings of certs.
func tcPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// tcKeyPEM encodes a key with EncodeKey, failing the test on error.
func tcKeyPEM(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	b, err := EncodeKey(k)
	if err != nil {
		t.Fatalf("encode key: %v", err)
	}
	return b
}

// tcWrite writes data to root/rel with mode, creating parent dirs.
func tcWrite(t testing.TB, root, rel string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatalf("chmod %s: %v", p, err)
	}
	return p
}
