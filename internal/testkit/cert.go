package testkit

import (
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
	"testing"
	"time"
)

// CertSpec describes a certificate for MakeCert to build. Zero fields take
// the defaults each names, so a spec only says what its test is about. It
// uses plain crypto/x509: pki's own tests build their fixtures with it, so
// testkit cannot use pki.
type CertSpec struct {
	// CN is the subject's common name, Orgs its organizations.
	CN   string
	Orgs []string
	// Serial is the serial number (0: a random positive one).
	Serial int64
	// Now is the clock the validity defaults from (zero: testkit.Now).
	Now time.Time
	// NotBefore is when the certificate starts (zero: an hour before Now),
	// NotAfter when it ends (zero: NotBefore plus Lifetime).
	NotBefore, NotAfter time.Time
	// Lifetime is the default validity (zero: 365 days).
	Lifetime time.Duration
	// IsCA makes a CA: basic constraints CA:TRUE, keyCertSign in the
	// default key usage, and a subject key id.
	IsCA bool
	// NotCA gives a non-CA an explicit basic constraints CA:FALSE.
	NotCA bool
	// KeyUsage is the key usage (0: digitalSignature|keyEncipherment, and
	// keyCertSign on a CA); a set value is used as it is.
	KeyUsage x509.KeyUsage
	// ExtKeyUsage are the extended key usages.
	ExtKeyUsage []x509.ExtKeyUsage
	// IPs and DNSNames are the subject alternative names.
	IPs      []net.IP
	DNSNames []string
	// Key is the certificate's key (nil: a fresh key on Curve).
	Key crypto.Signer
	// Curve is the curve of a fresh key (nil: P-256).
	Curve elliptic.Curve
	// Parent and ParentKey sign the certificate (nil: self-signed).
	Parent    *x509.Certificate
	ParentKey crypto.Signer
	// SubjectKeyID is the subject key id (nil: on a CA SKI(key), SHA-1 of
	// the PKIX public key as openssl's hash, on a non-CA none).
	SubjectKeyID []byte
	// SelfAKI gives a self-signed certificate AKI = SKI, as openssl's
	// keyid:always does (a signed one gets its parent's SKI from x509).
	SelfAKI bool
}

// MakeCert builds the certificate s describes and returns it with its key.
func MakeCert(t testing.TB, s CertSpec) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := s.Key
	if key == nil {
		key = ECKey(t, s.Curve)
	}
	if s.Now.IsZero() {
		s.Now = Now
	}
	if s.NotBefore.IsZero() {
		s.NotBefore = s.Now.Add(-time.Hour)
	}
	if s.Lifetime == 0 {
		s.Lifetime = 365 * 24 * time.Hour
	}
	if s.NotAfter.IsZero() {
		s.NotAfter = s.NotBefore.Add(s.Lifetime)
	}
	serial := big.NewInt(s.Serial)
	if s.Serial == 0 {
		var err error
		if serial, err = rand.Int(rand.Reader, big.NewInt(1<<62)); err != nil {
			t.Fatalf("serial: %v", err)
		}
		serial.Add(serial, big.NewInt(1))
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.CN, Organization: s.Orgs},
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		KeyUsage:              s.KeyUsage,
		ExtKeyUsage:           s.ExtKeyUsage,
		IsCA:                  s.IsCA,
		BasicConstraintsValid: s.IsCA || s.NotCA,
		IPAddresses:           s.IPs,
		DNSNames:              s.DNSNames,
		SubjectKeyId:          s.SubjectKeyID,
	}
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		if s.IsCA {
			tmpl.KeyUsage |= x509.KeyUsageCertSign
		}
	}
	if s.IsCA && tmpl.SubjectKeyId == nil {
		tmpl.SubjectKeyId = SKI(t, key.Public())
	}
	parent, parentKey := tmpl, key
	if s.Parent != nil {
		parent, parentKey = s.Parent, s.ParentKey
	} else if s.SelfAKI {
		tmpl.AuthorityKeyId = tmpl.SubjectKeyId
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

// ECKey is a fresh ECDSA key on curve (nil: P-256).
func ECKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	if curve == nil {
		curve = elliptic.P256()
	}
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

// SKI is a subject key id as the tests' CAs carry it: SHA-1 over the PKIX
// DER encoding of pub.
func SKI(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	sum := sha1.Sum(der)
	return sum[:]
}

// CertPEM is the PEM encoding of certs, one block each, in order.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM is the PEM encoding of key: "EC PRIVATE KEY" (SEC 1) for an
// ECDSA key, "PRIVATE KEY" (PKCS #8) for others.
func KeyPEM(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	if ec, ok := key.(*ecdsa.PrivateKey); ok {
		der, err := x509.MarshalECPrivateKey(ec)
		if err != nil {
			t.Fatalf("marshal key: %v", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TLSCert is cert and its key as a tls.Certificate, for a test listener or
// client.
func TLSCert(cert *x509.Certificate, key crypto.Signer) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}
