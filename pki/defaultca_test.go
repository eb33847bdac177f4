package pki

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

var gtDefaultPaths = []string{
	"tls/client-ca.crt", "tls/client-ca.key",
	"tls/server-ca.crt", "tls/server-ca.key",
	"tls/request-header-ca.crt", "tls/request-header-ca.key",
	"tls/etcd/peer-ca.crt", "tls/etcd/peer-ca.key",
	"tls/etcd/server-ca.crt", "tls/etcd/server-ca.key",
	"tls/service.key",
}

// gtGoSKI is Go >= 1.25's SKI: the first 20 bytes of SHA-256 of the public key bits.
func gtGoSKI(t testing.TB, c *x509.Certificate) []byte {
	t.Helper()
	sum := sha256.Sum256(gtPublicKeyBits(t, c))
	return sum[:20]
}

// gtPublicKeyBits extracts the subjectPublicKey BIT STRING content of a cert.
func gtPublicKeyBits(t testing.TB, c *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	return spki.PublicKey.Bytes
}

// gtOpenSSLSKI is openssl's subjectKeyIdentifier=hash: SHA-1 of the key bits.
func gtOpenSSLSKI(t testing.TB, c *x509.Certificate) []byte {
	t.Helper()
	sum := sha1.Sum(gtPublicKeyBits(t, c))
	return sum[:]
}

func TestGenDefaultCAs(t *testing.T) {
	tests := []struct {
		name    string
		product product.Product
		key     KeyType
		svc     KeyType
		svcPEM  string
	}{
		{"k3s default", product.K3s, "", "", BlockRSAKey},
		{"rke2 ecdsa-p384", product.RKE2, KeyECDSAP384, KeyECDSAP256, BlockECKey},
		{"rsa-2048", product.K3s, KeyRSA2048, KeyECDSAP256, BlockECKey},
		{"ed25519", product.K3s, KeyEd25519, KeyECDSAP384, BlockECKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := GenerateDefaultCAs(GenOptions{Product: tc.product, Now: gtNow, KeyType: tc.key, ServiceKeyType: tc.svc})
			if err != nil {
				t.Fatal(err)
			}
			if got := gtPaths(set); !slices.Equal(got, gtDefaultPaths) {
				t.Fatalf("paths = %v", got)
			}
			want := tc.key
			if want == "" {
				want = KeyECDSAP256
			}
			for _, ca := range CATypes {
				gtCheckDefaultCA(t, set, ca, tc.product, want)
			}
			svc := gtFile(t, set, "tls/service.key")
			if b, rest := pem.Decode(svc.Data); b == nil || b.Type != tc.svcPEM || len(rest) != 0 {
				t.Errorf("service.key: block %v, %d bytes after it; want one %s", b, len(rest), tc.svcPEM)
			}
			if !svc.Secret || svc.Mode != fsutil.ModeSecret {
				t.Errorf("service.key: secret %v mode %v", svc.Secret, svc.Mode)
			}
			h, ok, err := set.ServerCAHash(gtNow)
			sum := sha256.Sum256(gtFile(t, set, "tls/server-ca.crt").Data)
			if !ok || err != nil || h.Method != HashFileBytes || h.Hex != hex.EncodeToString(sum[:]) {
				t.Errorf("ServerCAHash = %+v %v %v", h, ok, err)
			}
		})
	}
}

func gtCheckDefaultCA(t *testing.T, set *StagedSet, ca CAType, p product.Product, kt KeyType) {
	t.Helper()
	certFile := gtFile(t, set, ca.CertField().Path)
	certs := gtCerts(t, set, ca.CertField().Path)
	if len(certs) != 1 {
		t.Fatalf("%s: %d certs, want 1", ca.Type, len(certs))
	}
	c := certs[0]
	if string(certFile.Data) != string(EncodeCert(c)) || certFile.Mode != fsutil.ModePublic || certFile.Secret {
		t.Errorf("%s: cert file is not a single PEM with mode 0644", ca.Type)
	}
	wantCN := ca.DefaultCN(p) + "@" + strconv.FormatInt(gtNow.Unix(), 10)
	checks := []struct {
		what string
		ok   bool
	}{
		{"CN " + c.Subject.CommonName, c.Subject.CommonName == wantCN},
		{"subject is CN only", c.Subject.String() == "CN="+wantCN},
		{"issuer = subject", string(c.RawIssuer) == string(c.RawSubject)},
		{"serial 0", c.SerialNumber.Sign() == 0},
		{"NotBefore now-1h", c.NotBefore.Equal(gtNow.Add(-time.Hour))},
		{"NotAfter +3650d", c.NotAfter.Equal(gtNow.Add(-time.Hour).Add(3650 * 24 * time.Hour))},
		{"key usage", c.KeyUsage == x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment|x509.KeyUsageCertSign},
		{"CA", c.IsCA && c.BasicConstraintsValid && c.MaxPathLen <= 0 && !c.MaxPathLenZero},
		{"no AKI", len(c.AuthorityKeyId) == 0},
		{"Go SKI", string(c.SubjectKeyId) == string(gtGoSKI(t, c))},
		{"key type", KeyTypeOf(c.PublicKey) == kt},
		{"self-signed", c.CheckSignatureFrom(c) == nil},
		{"no EKU", len(c.ExtKeyUsage) == 0},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s: %s failed", ca.Type, ch.what)
		}
	}
	gtKeyPair(t, set, ca.CertField().Path, ca.KeyFieldInfo().Path)
	if kt == KeyECDSAP256 {
		b, _ := pem.Decode(gtFile(t, set, ca.KeyFieldInfo().Path).Data)
		if b == nil || b.Type != BlockECKey {
			t.Errorf("%s: key block %v, want SEC1 EC PRIVATE KEY", ca.Type, b)
		}
	}
}

func TestGenStagedWrite(t *testing.T) {
	set, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := set.Write(t.Context(), root, gtNow); err != nil {
		t.Fatal(err)
	}
	for _, f := range set.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o644)
		if f.Secret {
			want = 0o600
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", f.Path, fi.Mode().Perm(), want)
		}
		if data, _ := os.ReadFile(p); string(data) != string(f.Data) {
			t.Errorf("%s: content differs", f.Path)
		}
	}
}

func TestGenStagedWriteRefuses(t *testing.T) {
	set, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		set     *StagedSet
		ctx     func() context.Context
		wantErr error
	}{
		{"symlinked file", func(t *testing.T, root string) {
			gtSymlink(t, filepath.Join(t.TempDir(), "x"), filepath.Join(root, "tls", "client-ca.crt"))
		}, set, nil, fsutil.ErrSymlink},
		{"symlinked dir", func(t *testing.T, root string) {
			gtSymlink(t, t.TempDir(), filepath.Join(root, "tls"))
		}, set, nil, fsutil.ErrSymlink},
		{"escaping path", nil, &StagedSet{Files: []StagedFile{{Path: "../x", Data: []byte("x"), Mode: 0o644}}}, nil, ErrUnsafePath},
		{"absolute path", nil, &StagedSet{Files: []StagedFile{{Path: "/tmp/x", Data: []byte("x"), Mode: 0o644}}}, nil, ErrUnsafePath},
		{"cancelled", nil, set, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, root)
			}
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			if err := tc.set.Write(ctx, root, gtNow); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Write: err = %v, want %v", err, tc.wantErr)
			}
			if _, err := os.Stat(filepath.Join(root, "tls", "client-ca.key")); err == nil {
				t.Errorf("a file was written although Write failed first")
			}
		})
	}
}

func gtSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestGenStagedPreview(t *testing.T) {
	set, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	pv := set.Preview()
	if len(pv) != len(set.Files) {
		t.Fatalf("%d planned files, want %d", len(pv), len(set.Files))
	}
	for i, p := range pv {
		f := set.Files[i]
		if p.Path != f.Path || p.Mode != f.Mode || p.Size != len(f.Data) || p.Secret != f.Secret {
			t.Errorf("%s: planned %+v", f.Path, p)
		}
		if f.Secret != (len(p.Certs) == 0) {
			t.Errorf("%s: %d cert summaries, secret %v", f.Path, len(p.Certs), f.Secret)
		}
	}
	c := pv[2].Certs[0]
	wantCN := "k3s-server-ca@" + strconv.FormatInt(gtNow.Unix(), 10)
	if pv[2].Path != "tls/server-ca.crt" || c.Subject != wantCN || c.Issuer != wantCN || !c.IsCA ||
		!c.NotAfter.Equal(gtNow.Add(3650*24*time.Hour-time.Hour)) {
		t.Errorf("server CA summary %+v", c)
	}
}
