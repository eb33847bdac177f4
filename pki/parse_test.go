package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	k8scert "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// tcKeys holds one key of each supported type, built once per test binary.
type tcKeys struct {
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey
}

func tcMakeKeys(t testing.TB) tcKeys {
	t.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return tcKeys{ec: testkit.ECKey(t, nil), rsa: r, ed: ed}
}

func tcBlock(typ string, der []byte, headers map[string]string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der})
}

func tcPKCS8(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return tcBlock("PRIVATE KEY", der, nil)
}

func tcPKIX(t testing.TB, k crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return tcBlock("PUBLIC KEY", der, nil)
}

func tcCRLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

func tcJoin(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseCertsPEM(t *testing.T) {
	a, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "a", IsCA: true})
	b, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "b", IsCA: true})
	headered := tcBlock("CERTIFICATE", b.Raw, map[string]string{"Note": "x"})
	badDER := tcBlock("CERTIFICATE", []byte{0x30, 0x03, 1, 2, 3}, nil)
	truncated := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n")
	ecParams := tcBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}, nil)
	tests := []struct {
		name       string
		in         []byte
		want       []string
		wantErr    error
		bundleErr  error // ParseBundle's error when it differs
		anyErr     bool  // an x509 error rather than a sentinel
		bundleWant bool
	}{
		{name: "two certs", in: testkit.CertPEM(a, b), want: []string{"a", "b"}},
		{name: "CRLF", in: tcCRLF(testkit.CertPEM(a, b)), want: []string{"a", "b"}},
		{name: "junk between blocks", in: tcJoin([]byte("subject=a\n"), testkit.CertPEM(a), []byte("junk\n\n"), testkit.CertPEM(b), []byte("tail")), want: []string{"a", "b"}},
		{name: "EC PARAMETERS skipped", in: tcJoin(ecParams, testkit.CertPEM(a)), want: []string{"a"}},
		{name: "headers skipped", in: tcJoin(headered, testkit.CertPEM(a)), want: []string{"a"}},
		{name: "only headered", in: headered, wantErr: ErrNoCertificates},
		{name: "empty", in: nil, wantErr: ErrNoCertificates},
		{name: "bad DER after a good cert", in: tcJoin(testkit.CertPEM(a), badDER), want: []string{"a"}, anyErr: true},
		{name: "truncated tail", in: tcJoin(testkit.CertPEM(a), truncated), want: []string{"a"}, bundleErr: ErrTruncatedPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseCertsPEM(tt.in)
			var cns []string
			for _, c := range certs {
				cns = append(cns, c.Subject.CommonName)
			}
			if !reflect.DeepEqual(cns, tt.want) {
				t.Errorf("certs = %v, want %v", cns, tt.want)
			}
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			case tt.anyErr && err == nil:
				t.Error("bad DER accepted")
			case tt.wantErr == nil && !tt.anyErr && err != nil:
				t.Errorf("err = %v", err)
			}
			// dynamiclistener's cert.ParseCertsPEM is client-go's; they must agree
			kc, kerr := k8scert.ParseCertsPEM(tt.in)
			if len(kc) != len(certs) || (kerr == nil) != (err == nil) {
				t.Errorf("client-go: %d certs, %v; ours %d, %v", len(kc), kerr, len(certs), err)
			}
			_, berr := ParseBundle(tt.in)
			want := tt.wantErr
			if tt.bundleErr != nil {
				want = tt.bundleErr
			}
			if want != nil && !errors.Is(berr, want) || want == nil && (berr == nil) == tt.anyErr {
				t.Errorf("ParseBundle err = %v, want %v", berr, want)
			}
		})
	}
}

func TestParsePrivateKeys(t *testing.T) {
	k := tcMakeKeys(t)
	ec, rsaPEM := keyPEM(t, k.ec), keyPEM(t, k.rsa)
	c, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "c"})
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := tcBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}, nil)
	legacy := tcBlock("RSA PRIVATE KEY", []byte{1, 2, 3}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"})
	tests := []struct {
		name    string
		in      []byte
		want    []crypto.PublicKey
		wantErr error
	}{
		{name: "SEC1", in: ec, want: []crypto.PublicKey{k.ec.Public()}},
		{name: "PKCS#1", in: rsaPEM, want: []crypto.PublicKey{k.rsa.Public()}},
		{name: "PKCS#8 ECDSA", in: tcPKCS8(t, k.ec), want: []crypto.PublicKey{k.ec.Public()}},
		{name: "PKCS#8 RSA", in: tcPKCS8(t, k.rsa), want: []crypto.PublicKey{k.rsa.Public()}},
		{name: "PKCS#8 Ed25519", in: tcPKCS8(t, k.ed), want: []crypto.PublicKey{k.ed.Public()}},
		{name: "EC PARAMETERS then key, CRLF, junk", in: tcCRLF(tcJoin(ecParams, []byte("junk\n"), ec)), want: []crypto.PublicKey{k.ec.Public()}},
		{name: "several keys in order", in: tcJoin(rsaPEM, ec, tcPKCS8(t, k.ed)), want: []crypto.PublicKey{k.rsa.Public(), k.ec.Public(), k.ed.Public()}},
		{name: "ENCRYPTED PRIVATE KEY", in: tcBlock("ENCRYPTED PRIVATE KEY", []byte{1}, nil), wantErr: ErrEncryptedKey},
		{name: "legacy Proc-Type encryption", in: legacy, wantErr: ErrEncryptedKey},
		{name: "truncated", in: ec[:len(ec)-20], wantErr: ErrTruncatedPEM},
		{name: "truncated second block", in: tcJoin(ec, rsaPEM[:40]), wantErr: ErrTruncatedPEM},
		{name: "cert where a key is expected", in: testkit.CertPEM(c), wantErr: ErrNotAKey},
		{name: "garbage key", in: tcBlock("EC PRIVATE KEY", []byte{0x30, 0}, nil), wantErr: ErrBadKey},
		{name: "X25519 is not a signer", in: tcPKCS8(t, x25519), wantErr: ErrBadKey},
		{name: "no PEM", in: []byte("hello"), wantErr: ErrNoPEM},
		{name: "only EC PARAMETERS", in: ecParams, wantErr: ErrNoPrivateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePrivateKeys(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || keys != nil {
					t.Fatalf("err = %v (%d keys), want %v", err, len(keys), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("%d keys, want %d", len(keys), len(tt.want))
			}
			for i := range keys {
				if !PublicKeyEqual(keys[i].Public(), tt.want[i]) {
					t.Errorf("key %d differs", i)
				}
			}
		})
	}
}

// TestParsePublicKeysPEM compares with k8s keyutil, which k3s uses for service.key.
func TestParsePublicKeysPEM(t *testing.T) {
	k := tcMakeKeys(t)
	ecCert, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "ec"})
	edCert, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "ed", Key: k.ed})
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"PKCS#1 RSA", keyPEM(t, k.rsa), 1},
		{"PKCS#8 RSA", tcPKCS8(t, k.rsa), 1},
		{"SEC1 EC", keyPEM(t, k.ec), 1},
		{"PKCS#8 ECDSA ignored", tcPKCS8(t, k.ec), 0},
		{"PKCS#8 Ed25519 ignored", tcPKCS8(t, k.ed), 0},
		{"PUBLIC KEY RSA and EC", tcJoin(tcPKIX(t, k.rsa.Public()), tcPKIX(t, k.ec.Public())), 2},
		{"EC cert", testkit.CertPEM(ecCert), 1},
		{"Ed25519 cert ignored", testkit.CertPEM(edCert), 0},
		{"mix with junk, CRLF", tcCRLF(tcJoin(keyPEM(t, k.rsa), []byte("x\n"), tcPKCS8(t, k.ec), keyPEM(t, k.ec), testkit.CertPEM(edCert))), 2},
		{"nothing", []byte("x"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeysPEM(tt.in)
			if (err == nil) != (tt.want > 0) || len(got) != tt.want {
				t.Fatalf("%d keys, %v; want %d", len(got), err, tt.want)
			}
			if err != nil && (!errors.Is(err, ErrNoPublicKeys) || err.Error() != "data does not contain any valid RSA or ECDSA public keys") {
				t.Fatalf("err = %v", err)
			}
			ref, rerr := keyutil.ParsePublicKeysPEM(tt.in)
			if (rerr == nil) != (err == nil) || len(ref) != len(got) {
				t.Fatalf("keyutil: %d keys, %v", len(ref), rerr)
			}
			for i := range got {
				if !PublicKeyEqual(got[i], ref[i]) {
					t.Errorf("key %d differs from keyutil", i)
				}
			}
		})
	}
}

func TestParseFiles(t *testing.T) {
	dir := t.TempDir()
	k := tcMakeKeys(t)
	c, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "f"})
	good := tcWrite(t, dir, "good.crt", testkit.CertPEM(c), 0o644)
	key := tcWrite(t, dir, "good.key", keyPEM(t, k.rsa), 0o600)
	junk := tcWrite(t, dir, "junk", []byte("junk"), 0o600)
	missing := filepath.Join(dir, "missing")
	if certs, err := CertsFromFile(good); err != nil || len(certs) != 1 {
		t.Errorf("CertsFromFile = %d, %v", len(certs), err)
	}
	if _, err := CertsFromFile(junk); err == nil || err.Error() != "error reading "+junk+": "+ErrNoCertificates.Error() {
		t.Errorf("CertsFromFile(junk) = %v", err)
	}
	if _, err := CertsFromFile(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CertsFromFile(missing) = %v", err)
	}
	if keys, err := PublicKeysFromFile(key); err != nil || len(keys) != 1 {
		t.Errorf("PublicKeysFromFile = %d, %v", len(keys), err)
	}
	if _, err := PublicKeysFromFile(junk); err == nil || !strings.HasPrefix(err.Error(), "error reading public key file "+junk+": ") {
		t.Errorf("PublicKeysFromFile(junk) = %v", err)
	}
	if keys, err := LoadPrivateKeys(key); err != nil || len(keys) != 1 {
		t.Errorf("LoadPrivateKeys = %d, %v", len(keys), err)
	}
	if _, err := LoadPrivateKeys(good); !errors.Is(err, ErrNotAKey) || !strings.Contains(err.Error(), good) {
		t.Errorf("LoadPrivateKeys(cert) = %v", err)
	}
	if _, err := LoadBundle(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadBundle(missing) = %v", err)
	}
	if _, err := LoadBundle(junk); !errors.Is(err, ErrNoCertificates) || !strings.Contains(err.Error(), junk) {
		t.Errorf("LoadBundle(junk) = %v", err)
	}
}

func TestParseEncodeKey(t *testing.T) {
	k := tcMakeKeys(t)
	tests := []struct {
		key  crypto.Signer
		want string
	}{{k.ec, "EC PRIVATE KEY"}, {k.rsa, "RSA PRIVATE KEY"}, {k.ed, "PRIVATE KEY"}}
	for _, tt := range tests {
		b := keyPEM(t, tt.key)
		if blk, _ := pem.Decode(b); blk == nil || blk.Type != tt.want {
			t.Errorf("EncodeKey(%T) block = %v, want %s", tt.key, blk, tt.want)
		}
		keys, err := ParsePrivateKeys(b)
		if err != nil || !PublicKeyEqual(keys[0].Public(), tt.key.Public()) {
			t.Errorf("EncodeKey(%T) does not round-trip: %v", tt.key, err)
		}
	}
	if PublicKeyEqual(k.ec.Public(), k.rsa.Public()) || PublicKeyEqual(nil, k.ec.Public()) {
		t.Error("PublicKeyEqual matches different keys")
	}
	c, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "e"})
	if !bytes.Equal(EncodeCert(c), testkit.CertPEM(c)) {
		t.Error("EncodeCert differs")
	}
}
