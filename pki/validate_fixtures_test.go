package pki

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

// vNow is the pinned clock of the validation tests.
var vNow = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

// tca is a test certificate with its private key.
type tca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// certOpt edits a certificate's spec before it is made.
type certOpt func(*testkit.CertSpec)

// withValidity sets NotBefore and NotAfter.
func withValidity(nb, na time.Time) certOpt {
	return func(s *testkit.CertSpec) { s.NotBefore, s.NotAfter = nb, na }
}

// withSelfAKI gives a self-signed cert AKI = SKI, as openssl's keyid:always does.
func withSelfAKI() certOpt {
	return func(s *testkit.CertSpec) { s.SelfAKI = true }
}

// asLeaf makes the cert a non-CA (CA:FALSE) with the given key usage.
func asLeaf(ku x509.KeyUsage) certOpt {
	return func(s *testkit.CertSpec) { s.IsCA, s.NotCA, s.KeyUsage = false, true, ku }
}

// fxMake is a CA for key (nil: a fresh P-256 key) valid from vNow-1h for
// ten years, with an openssl-style SKI, signed by parent (nil: self-signed).
func fxMake(t testing.TB, cn string, key crypto.Signer, parent *tca, opts ...certOpt) tca {
	t.Helper()
	s := testkit.CertSpec{CN: cn, IsCA: true, Key: key, NotBefore: vNow.Add(-time.Hour), NotAfter: vNow.Add(3650 * 24 * time.Hour)}
	if parent != nil {
		s.Parent, s.ParentKey = parent.cert, parent.key
	}
	for _, o := range opts {
		o(&s)
	}
	c, k := testkit.MakeCert(t, s)
	return tca{cert: c, key: k}
}

// fxRoot is a self-signed CA; without options it has no AKI, like k3s's default CAs.
func fxRoot(t testing.TB, cn string, key crypto.Signer, opts ...certOpt) tca {
	t.Helper()
	return fxMake(t, cn, key, nil, opts...)
}

// fxIssue is a cert for a fresh P-256 key signed by parent.
func fxIssue(t testing.TB, cn string, parent tca, opts ...certOpt) tca {
	t.Helper()
	return fxMake(t, cn, nil, &parent, opts...)
}

// fxCross re-issues subject's name and key under parent (a cross-signed root).
func fxCross(t testing.TB, subject, parent tca) tca {
	t.Helper()
	return fxMake(t, subject.cert.Subject.CommonName, subject.key, &parent)
}

// fxFiles maps a path relative to a server dir or staged root to its content.
type fxFiles map[string][]byte

func keyPEM(t testing.TB, keys ...crypto.Signer) []byte {
	t.Helper()
	var out []byte
	for _, k := range keys {
		b, err := EncodeKey(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// writeTree writes files under dir: .key files 0600, others 0644.
func writeTree(t testing.TB, dir string, files fxFiles) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(p) == ".key" {
			mode = 0o600
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// caSet is one CA as files: its bundle and its key file.
type caSet struct {
	ca     tca
	bundle []*x509.Certificate
	keys   []crypto.Signer
}

// fxCluster is a server dir's rotatable content, as certs and keys.
type fxCluster struct {
	root, inter tca // custom clusters only
	cas         map[string]caSet
	svc         []crypto.Signer
}

// files renders the cluster as bootstrap files.
func (c fxCluster) files(t testing.TB) fxFiles {
	out := fxFiles{}
	for _, ca := range CATypes {
		s, ok := c.cas[ca.Field]
		if !ok {
			continue
		}
		out[ca.CertField().Path] = testkit.CertPEM(s.bundle...)
		out[ca.KeyFieldInfo().Path] = keyPEM(t, s.keys...)
	}
	if len(c.svc) > 0 {
		out["tls/service.key"] = keyPEM(t, c.svc...)
	}
	return out
}

// fxDefaultCluster is what k3s makes at first start: five self-signed CAs
// without AKI, and a service key list of two keys.
func fxDefaultCluster(t testing.TB) fxCluster {
	c := fxCluster{cas: map[string]caSet{}}
	for _, ca := range CATypes {
		r := fxRoot(t, ca.DefaultCN(product.K3s), nil)
		c.cas[ca.Field] = caSet{ca: r, bundle: []*x509.Certificate{r.cert}, keys: []crypto.Signer{r.key}}
	}
	c.svc = []crypto.Signer{testkit.ECKey(t, nil), testkit.ECKey(t, nil)}
	return c
}

// fxCustomCluster is generate-custom-ca-certs.sh's shape: a root, an
// intermediate and five CAs, each bundle CA + intermediate + root.
func fxCustomCluster(t testing.TB, rootCN, interCN string) fxCluster {
	root := fxRoot(t, rootCN, nil, withSelfAKI())
	return fxUnderRoot(t, root, fxIssue(t, interCN, root), nil)
}

// fxUnderRoot issues five CAs under inter, bundled with inter and root.
func fxUnderRoot(t testing.TB, root, inter tca, svc []crypto.Signer) fxCluster {
	c := fxCluster{root: root, inter: inter, cas: map[string]caSet{}, svc: svc}
	if c.svc == nil {
		c.svc = []crypto.Signer{testkit.ECKey(t, nil)}
	}
	for _, ca := range CATypes {
		leaf := fxIssue(t, ca.ScriptCN(product.K3s, "-ca"), inter)
		c.cas[ca.Field] = caSet{ca: leaf, bundle: []*x509.Certificate{leaf.cert, inter.cert, root.cert}, keys: []crypto.Signer{leaf.key}}
	}
	return c
}

// fxCrossSigned is rotate-default-ca-certs.sh's output for old: per CA a new
// root (self-signed and cross-signed by the old CA) and a new CA under it,
// bundle ca, root-ssigned, root-xsigned, old; key file ca key + root key;
// service.key a new key followed by the old list.
func fxCrossSigned(t testing.TB, old fxCluster) (fxCluster, map[string]tca) {
	c := fxCluster{cas: map[string]caSet{}}
	roots := map[string]tca{}
	for _, ca := range CATypes {
		o := old.cas[ca.Field]
		ss := fxRoot(t, ca.ScriptCN(product.K3s, "-root"), nil, withSelfAKI())
		xs := fxCross(t, ss, o.ca)
		leaf := fxIssue(t, ca.ScriptCN(product.K3s, "-ca"), ss)
		c.cas[ca.Field] = caSet{ca: leaf, bundle: []*x509.Certificate{leaf.cert, ss.cert, xs.cert, o.ca.cert}, keys: []crypto.Signer{leaf.key, ss.key}}
		roots[ca.Field] = ss
	}
	c.svc = append([]crypto.Signer{testkit.ECKey(t, nil)}, old.svc...)
	return c, roots
}

// Scenarios of the validation table.

func defaultToCrossSigned(t *testing.T) scenario {
	old := fxDefaultCluster(t)
	next, roots := fxCrossSigned(t, old)
	cur := old.files(t)
	return scenario{cur: cur, staged: next.files(t), oldHash: sha(cur["tls/server-ca.crt"]), newHash: sha(roots["ServerCA"].cert.Raw)}
}

func defaultToSelfSigned(t *testing.T) scenario {
	old := fxDefaultCluster(t)
	next := fxDefaultCluster(t)
	next.svc = append([]crypto.Signer{testkit.ECKey(t, nil)}, old.svc...)
	staged := next.files(t)
	return scenario{cur: old.files(t), staged: staged, newHash: sha(staged["tls/server-ca.crt"])}
}

func customNewIntermediate(t *testing.T) scenario {
	old := fxCustomCluster(t, "k3s-root-ca", "k3s-intermediate-ca")
	inter := fxIssue(t, "k3s-intermediate-ca-2", old.root)
	next := fxUnderRoot(t, old.root, inter, append([]crypto.Signer{testkit.ECKey(t, nil)}, old.svc...))
	return scenario{cur: old.files(t), staged: next.files(t), oldHash: sha(old.root.cert.Raw)}
}

func customNewRoot(t *testing.T) scenario {
	old := fxCustomCluster(t, "k3s-root-ca", "k3s-intermediate-ca")
	next := fxCustomCluster(t, "k3s-root-ca-2", "k3s-intermediate-ca-2")
	next.svc = old.svc
	return scenario{cur: old.files(t), staged: next.files(t), newHash: sha(next.root.cert.Raw)}
}

func serviceKeyList(keep func(old []crypto.Signer) []crypto.Signer) func(t *testing.T) scenario {
	return func(t *testing.T) scenario {
		old := fxDefaultCluster(t)
		next := old
		next.svc = append([]crypto.Signer{testkit.ECKey(t, nil)}, keep(old.svc)...)
		return scenario{cur: old.files(t), staged: onlyFiles(next.files(t), "tls/service.key")}
	}
}

func partialServerCA(t *testing.T) scenario {
	s := customNewIntermediate(t)
	s.staged = onlyFiles(s.staged, "tls/server-ca.crt", "tls/server-ca.key")
	return s
}

func keyMismatch(t *testing.T) scenario {
	s := partialServerCA(t)
	s.staged["tls/server-ca.key"] = keyPEM(t, testkit.ECKey(t, nil))
	return s
}

// messy rewrites a PEM file the way hand-edited files look: CRLF line ends,
// text and an EC PARAMETERS block between the blocks.
func messy(b []byte) []byte {
	const params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	s := "Bag Attributes: junk text before\n" + params + strings.ReplaceAll(string(b), "-----\n-----BEGIN", "-----\nsubject=junk between blocks\n"+params+"-----BEGIN")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n") + "trailing junk\r\n")
}

func messyPEM(t *testing.T) scenario {
	s := customNewIntermediate(t)
	for _, p := range []string{"tls/server-ca.crt", "tls/server-ca.key", "tls/service.key"} {
		s.staged[p] = messy(s.staged[p])
	}
	return s
}

func expiredIntermediate(t *testing.T) scenario {
	old := fxCustomCluster(t, "k3s-root-ca", "k3s-intermediate-ca")
	inter := fxIssue(t, "k3s-intermediate-ca-2", old.root, withValidity(vNow.AddDate(-2, 0, 0), vNow.AddDate(0, 0, -1)))
	next := fxUnderRoot(t, old.root, inter, old.svc)
	staged := next.files(t)
	return scenario{cur: old.files(t), staged: staged, newHash: sha(staged["tls/server-ca.crt"])}
}

func emptyStaged(t *testing.T) scenario {
	old := fxDefaultCluster(t)
	return scenario{cur: old.files(t), staged: fxFiles{"tls/server-ca.crt": nil, "tls/server-ca.key": {}}}
}

func garbageCert(t *testing.T) scenario {
	old := fxDefaultCluster(t)
	return scenario{cur: old.files(t), staged: fxFiles{"tls/server-ca.crt": []byte("garbage\n")}, newHash: hashNone}
}

func withPrep(build func(*testing.T) scenario, prep func(t *testing.T, curDir, stagedDir string)) func(*testing.T) scenario {
	return func(t *testing.T) scenario { s := build(t); s.prep = prep; return s }
}

func symlinkInStaged(t *testing.T, _, staged string) {
	if err := os.Symlink("/etc/hostname", filepath.Join(staged, "tls", "link.crt")); err != nil {
		t.Fatal(err)
	}
}

func etcdDirIsFile(t *testing.T, _, staged string) {
	if err := os.WriteFile(filepath.Join(staged, "tls", "etcd"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeStaged(t *testing.T, _, staged string) {
	if err := os.RemoveAll(staged); err != nil {
		t.Fatal(err)
	}
}

func removeCurrentServerCA(t *testing.T, cur, _ string) {
	if err := os.Remove(filepath.Join(cur, "tls", "server-ca.crt")); err != nil {
		t.Fatal(err)
	}
}

func inPlace(t *testing.T) scenario {
	return scenario{cur: fxDefaultCluster(t).files(t), inPlace: true}
}

func stagedIsSymlink(t *testing.T, _, staged string) {
	target := staged + ".target"
	if err := os.Rename(staged, target); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, staged); err != nil {
		t.Fatal(err)
	}
}
