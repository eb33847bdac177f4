package pki

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

const days = 24 * time.Hour

// stagedServerCA stages only a new server CA (named k3s-server-ca-2) under
// the current custom intermediate, with the key from keyFn (nil: P-256).
func stagedServerCA(keyFn func(testing.TB) crypto.Signer, opts ...certOpt) func(*testing.T) scenario {
	return func(t *testing.T) scenario {
		old := fxCustomCluster(t, "k3s-root-ca", "k3s-intermediate-ca")
		var key crypto.Signer = testkit.ECKey(t, nil)
		if keyFn != nil {
			key = keyFn(t)
		}
		ca := fxMake(t, "k3s-server-ca-2", key, &old.inter, opts...)
		staged := fxFiles{"tls/server-ca.crt": testkit.CertPEM(ca.cert, old.inter.cert, old.root.cert), "tls/server-ca.key": keyPEM(t, ca.key)}
		return scenario{cur: old.files(t), staged: staged}
	}
}

// stagedServiceKey stages a service.key of first followed by the current keys.
func stagedServiceKey(first func(testing.TB) crypto.Signer) func(*testing.T) scenario {
	return func(t *testing.T) scenario {
		old := fxDefaultCluster(t)
		var data []byte
		data = append(data, keyPEM(t, first(t))...)
		data = append(data, keyPEM(t, old.svc...)...)
		return scenario{cur: old.files(t), staged: fxFiles{"tls/service.key": data}}
	}
}

func identicalDefaultCA(t *testing.T) scenario {
	cur := fxDefaultCluster(t).files(t)
	return scenario{cur: cur, staged: onlyFiles(cur, "tls/server-ca.crt")}
}

func p224(t testing.TB) crypto.Signer { return testkit.ECKey(t, elliptic.P224()) }

func rsa1024(t testing.TB) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ed25519Key(t testing.TB) crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func chmodStaged(rel string, mode os.FileMode) func(t *testing.T, _, staged string) {
	return func(t *testing.T, _, staged string) {
		if err := os.Chmod(filepath.Join(staged, filepath.FromSlash(rel)), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func strayKeys(t *testing.T, _, staged string) {
	key := keyPEM(t, testkit.ECKey(t, elliptic.P256()))
	cert := testkit.CertPEM(fxRoot(t, "k3s-root-ca", nil).cert)
	writeTree(t, staged, fxFiles{
		"tls/root-ca.key": key, "tls/etcd/server-root.key": key, "tls/intermediate-ca.key": key,
		"tls/root-ca.pem": cert, "tls/client-admin.key": key, "tls/notes.txt": append([]byte("saved key:\n"), key...),
		"tls/empty.key": nil,
	})
	chmodStaged("tls/intermediate-ca.key", 0o644)(t, "", staged)
}

type checkCase struct {
	name       string
	build      func(*testing.T) scenario
	leaf       time.Duration
	wantErrors []string // exact k3s errors
	wantWarn   []string // exact warnings in order; {L} is the label of the staged server CA
}

const serverCALabel = "ServerCA: certificate 1 of 3 (CN=k3s-server-ca-2) in {staged}/tls/server-ca.crt"

var checkCases = []checkCase{
	{name: "clean staged CA", build: stagedServerCA(nil)},
	{
		name: "staged cert is not a CA", build: stagedServerCA(nil, asLeaf(x509.KeyUsageDigitalSignature)),
		wantWarn: []string{
			"{L} is not a CA certificate (basicConstraints CA:TRUE is missing); certificates it signs will not verify.",
			"{L} has a keyUsage without keyCertSign; certificates it signs will not verify.",
		},
	},
	{
		name: "CA expires before a leaf issued now", build: stagedServerCA(nil, withValidity(vNow.Add(-time.Hour), vNow.Add(200*days))),
		wantWarn: []string{"{L} expires on 2027-03-20T12:00:00Z, before a leaf certificate issued now would (2027-09-01T12:00:00Z); renew the CA first."},
	},
	{
		name: "CA expires within a year, short leaves", leaf: 90 * days,
		build:    stagedServerCA(nil, withValidity(vNow.Add(-time.Hour), vNow.Add(300*days))),
		wantWarn: []string{"{L} expires within a year, on 2027-06-28T12:00:00Z."},
	},
	{name: "CA expires after a year", build: stagedServerCA(nil, withValidity(vNow.Add(-time.Hour), vNow.Add(366*days)))},
	{
		name: "CA not yet valid", build: stagedServerCA(nil, withValidity(vNow.Add(2*time.Hour), vNow.Add(3650*days))),
		wantErrors: []string{"ServerCA: new CA cert cannot be verified using old CA chain: x509: certificate has expired or is not yet valid: current time 2026-09-01T12:00:00Z is before 2026-09-01T14:00:00Z"},
		wantWarn:   []string{"{L} is not valid until 2026-09-01T14:00:00Z, 2h0m0s from now; check the clocks of this machine and of the servers."},
	},
	{
		name: "CA on P-224", build: stagedServerCA(p224),
		wantWarn: []string{"{L} has a weak key: EC curve P-224, smaller than P-256."},
	},
	{
		name: "CA on RSA 1024", build: stagedServerCA(rsa1024),
		wantWarn: []string{"{L} has a weak key: RSA 1024 bits, below 2048."},
	},
	{
		name: "CA key file readable by others", build: withPrep(stagedServerCA(nil), chmodStaged("tls/server-ca.key", 0o644)),
		wantWarn: []string{"ServerCAKey: {staged}/tls/server-ca.key has mode 0644; private keys should be 0600."},
	},
	{
		name: "root and intermediate keys left in the staged tls dir", build: withPrep(stagedServerCA(nil), strayKeys),
		wantWarn: []string{
			"{staged}/tls/etcd/server-root.key holds a private key that is not a k3s bootstrap file; if it is a root or intermediate CA key, move it offline.",
			"{staged}/tls/intermediate-ca.key holds a private key that is not a k3s bootstrap file; if it is a root or intermediate CA key, move it offline.",
			"{staged}/tls/intermediate-ca.key has mode 0644; private keys should be 0600.",
			"{staged}/tls/notes.txt holds a private key that is not a k3s bootstrap file; if it is a root or intermediate CA key, move it offline.",
			"{staged}/tls/notes.txt has mode 0644; private keys should be 0600.",
			"{staged}/tls/root-ca.key holds a private key that is not a k3s bootstrap file; if it is a root or intermediate CA key, move it offline.",
		},
	},
	{
		name: "Ed25519 first service key", build: stagedServiceKey(ed25519Key),
		wantWarn: []string{"ServiceKey: the first key of {staged}/tls/service.key is Ed25519; k3s cannot start with an Ed25519 service-account signing key, put an RSA or ECDSA key first."},
	},
	{
		name: "weak service key", build: stagedServiceKey(p224),
		wantWarn: []string{"ServiceKey: RSA/ECDSA key 1 of 3 in {staged}/tls/service.key is weak: EC curve P-224, smaller than P-256."},
	},
	{
		name: "identical copy of a single-cert CA", build: identicalDefaultCA,
		wantErrors: []string{"ServerCA: " + msgSingle},
		wantWarn:   []string{"ServerCA: {staged}/tls/server-ca.crt is a copy of the current single-certificate CA; k3s still validates it and refuses a single-certificate bundle, so remove it from the staged dir to keep the current CA."},
	},
}

func TestValidateChecks(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.build(t)
			curDir, stagedDir := t.TempDir(), t.TempDir()
			writeTree(t, curDir, s.cur)
			writeTree(t, stagedDir, s.staged)
			if s.prep != nil {
				s.prep(t, curDir, stagedDir)
			}
			in := ValidateInput{CurrentDir: curDir, StagedDir: stagedDir, Now: vNow, LeafValidity: tc.leaf, Product: product.K3s}
			r, err := Validate(context.Background(), in)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			expandAll := func(in []string) []string {
				var out []string
				for _, s := range in {
					out = append(out, strings.ReplaceAll(strings.ReplaceAll(s, "{L}", serverCALabel), "{staged}", stagedDir))
				}
				return out
			}
			if want := expandAll(tc.wantErrors); !slices.Equal(r.Errors, want) {
				t.Errorf("Errors:\n got %q\nwant %q", r.Errors, want)
			}
			if want := expandAll(tc.wantWarn); !slices.Equal(r.Warnings, want) {
				t.Errorf("Warnings:\n got %s\nwant %s", strings.Join(r.Warnings, "\n     "), strings.Join(want, "\n     "))
			}
		})
	}
}

func TestExpiryWarning(t *testing.T) {
	tests := []struct {
		name     string
		notAfter time.Time
		leaf     time.Duration
		want     string
	}{
		{"expired a second ago", vNow.Add(-time.Second), 365 * days, " expired on 2026-09-01T11:59:59Z."},
		{"expires exactly now", vNow, 365 * days, " expires on 2026-09-01T12:00:00Z, before a leaf certificate issued now would (2027-09-01T12:00:00Z); renew the CA first."},
		{"outlives a leaf by a second", vNow.Add(365*days + time.Second), 365 * days, ""},
		{"ends with the leaf", vNow.Add(365 * days), 365 * days, ""},
		{"long leaves", vNow.Add(500 * days), 730 * days, " expires on 2028-01-14T12:00:00Z, before a leaf certificate issued now would (2028-08-31T12:00:00Z); renew the CA first."},
		{"short leaves, within a year", vNow.Add(100 * days), 30 * days, " expires within a year, on 2026-12-10T12:00:00Z."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &x509.Certificate{NotBefore: vNow.Add(-time.Hour), NotAfter: tc.notAfter}
			if got := expiryWarning(c, vNow, tc.leaf); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWeakKey(t *testing.T) {
	tests := []struct {
		name string
		key  func(testing.TB) crypto.Signer
		want string
	}{
		{"P-224", p224, "EC curve P-224, smaller than P-256"},
		{"P-256", func(t testing.TB) crypto.Signer { return testkit.ECKey(t, elliptic.P256()) }, ""},
		{"P-384", func(t testing.TB) crypto.Signer { return testkit.ECKey(t, elliptic.P384()) }, ""},
		{"RSA 1024", rsa1024, "RSA 1024 bits, below 2048"},
		{"Ed25519", ed25519Key, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := weakKey(tc.key(t).Public()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
