package pki

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

// scenario is a current server dir and a staged dir, as files.
type scenario struct {
	cur, staged fxFiles
	oldHash     string // expected Hash.Old; "" skips the check
	newHash     string // expected Hash.New; "" means equal to Hash.Old
	prep        func(t *testing.T, curDir, stagedDir string)
	inPlace     bool // validate the current dir against itself (rotate-ca --path=<server dir>)
}

// hashNone expects an empty Hash.New (the resolved server CA does not parse).
const hashNone = "-"

type validateCase struct {
	name          string
	build         func(t *testing.T) scenario
	force         bool
	wantRunErr    error    // Validate fails with this (errors.Is)
	wantRunMsg    string   // and with this exact message, when set
	wantErrors    []string // exact k3s strings; {staged} and {cur} are the dirs
	wantIs        []error  // classes Report.Err must match
	wantClass     Class
	wantDefaulted []string
	wantChanged   []string
	wantWarn      []string // substrings, each found in some warning
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// rotatableExcept lists the rotatable field names in struct order, minus some.
func rotatableExcept(skip ...string) []string {
	var out []string
	for _, f := range RotatableFields() {
		if !slices.Contains(skip, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}

func caFieldsOrdered() []string {
	return []string{"ETCDServerCA", "ETCDPeerCA", "ServerCA", "ClientCA", "RequestHeaderCA"}
}

func perCA(format string) []string {
	var out []string
	for _, f := range caFieldsOrdered() {
		out = append(out, strings.ReplaceAll(format, "{ca}", f))
	}
	return out
}

func onlyFiles(all fxFiles, paths ...string) fxFiles {
	out := fxFiles{}
	for _, p := range paths {
		out[p] = all[p]
	}
	return out
}

const (
	msgSingle  = "new CA bundle contains only a single certificate but should include root or intermediate CA certificates"
	msgUnknown = "new CA cert cannot be verified using old CA chain: x509: certificate signed by unknown authority"
	msgKeyPair = "new CA cert and key cannot be loaded as X590KeyPair: "
)

var validateCases = []validateCase{
	{
		name: "default CAs rotated with the cross-signed script set", build: defaultToCrossSigned,
		wantClass: ClassCrossSigned, wantChanged: rotatableExcept(),
		wantWarn: []string{"ServerCAKey: {staged}/tls/server-ca.key holds 2 private keys"},
	},
	{
		name: "default CAs rotated with fresh self-signed CAs", build: defaultToSelfSigned,
		wantErrors: perCA("{ca}: " + msgSingle), wantIs: []error{ErrSingleCert},
		wantClass: ClassNewRoot, wantChanged: rotatableExcept(),
	},
	{
		name: "fresh self-signed CAs forced", build: defaultToSelfSigned, force: true,
		wantErrors: perCA("{ca}: " + msgSingle), wantIs: []error{ErrSingleCert},
		wantClass: ClassNewRoot, wantChanged: rotatableExcept(),
	},
	{
		name: "custom root, new intermediate", build: customNewIntermediate,
		wantClass: ClassSameRoot, wantChanged: rotatableExcept(),
	},
	{
		name: "custom root replaced by a new root", build: customNewRoot,
		wantErrors: perCA("{ca}: " + msgUnknown), wantIs: []error{ErrChainUnverified},
		wantClass: ClassNewRoot, wantChanged: rotatableExcept("ServiceKey"), wantDefaulted: nil,
	},
	{
		name: "new root forced", build: customNewRoot, force: true,
		wantErrors: perCA("{ca}: " + msgUnknown), wantIs: []error{ErrChainUnverified},
		wantClass: ClassNewRoot, wantChanged: rotatableExcept("ServiceKey"),
	},
	{
		name: "CA key does not match its cert", build: keyMismatch,
		wantErrors: []string{"ServerCAKey: " + msgKeyPair + "tls: private key does not match public key"}, wantIs: []error{ErrKeyPair},
		wantClass: ClassSameRoot, wantChanged: []string{"ServerCA", "ServerCAKey"}, wantDefaulted: rotatableExcept("ServerCA", "ServerCAKey"),
	},
	{
		name:       "service key list drops the current signing key",
		build:      serviceKeyList(func(old []crypto.Signer) []crypto.Signer { return old[1:] }),
		wantErrors: []string{"ServiceKey: " + ErrServiceKeyDropped.Error()}, wantIs: []error{ErrServiceKeyDropped},
		wantClass: ClassServiceKeyOnly, wantChanged: []string{"ServiceKey"}, wantDefaulted: rotatableExcept("ServiceKey"),
	},
	{
		name:      "service key list drops only an older key",
		build:     serviceKeyList(func(old []crypto.Signer) []crypto.Signer { return old[:1] }),
		wantClass: ClassServiceKeyOnly, wantChanged: []string{"ServiceKey"}, wantDefaulted: rotatableExcept("ServiceKey"),
	},
	{
		name: "only the server CA staged", build: partialServerCA,
		wantClass: ClassSameRoot, wantChanged: []string{"ServerCA", "ServerCAKey"}, wantDefaulted: rotatableExcept("ServerCA", "ServerCAKey"),
	},
	{
		name: "CRLF, junk text and EC PARAMETERS between blocks", build: messyPEM,
		wantClass: ClassSameRoot, wantChanged: rotatableExcept(),
	},
	{
		name: "expired new intermediate", build: expiredIntermediate,
		wantErrors: perCA("{ca}: new CA cert cannot be verified using old CA chain: x509: certificate has expired or is not yet valid: current time 2026-09-01T12:00:00Z is after 2026-08-31T12:00:00Z"),
		wantIs:     []error{ErrChainUnverified}, wantClass: ClassSameRoot, wantChanged: rotatableExcept("ServiceKey"),
		wantWarn: []string{"ServerCA: certificate 2 of 3 (CN=k3s-intermediate-ca-2) in {staged}/tls/server-ca.crt expired on 2026-08-31T12:00:00Z."},
	},
	{
		name: "empty staged files are defaulted", build: emptyStaged,
		wantClass: ClassNoChange, wantDefaulted: rotatableExcept(),
		wantWarn: []string{"Nothing is staged"},
	},
	{
		name: "garbage cert file", build: garbageCert,
		wantErrors: []string{
			"ServerCA: error reading {staged}/tls/server-ca.crt: data does not contain any valid RSA or ECDSA certificates",
			"ServerCAKey: " + msgKeyPair + "tls: failed to find any PEM data in certificate input",
		},
		wantClass: ClassNewRoot, wantChanged: []string{"ServerCA"}, wantDefaulted: rotatableExcept("ServerCA"),
	},
	{
		// k3s copies the uploaded files to its tmp dir, so an unchanged
		// single-cert CA is still checked, and refused.
		name: "current dir staged onto itself", build: inPlace,
		wantErrors: perCA("{ca}: " + msgSingle), wantIs: []error{ErrSingleCert}, wantClass: ClassNoChange,
		wantWarn: []string{"ServerCA: {staged}/tls/server-ca.crt is a copy of the current single-certificate CA"},
	},
	{name: "staged dir is a symlink", build: withPrep(partialServerCA, stagedIsSymlink), wantRunErr: fsutil.ErrSymlink},
	{name: "symlink in the staged dir", build: withPrep(partialServerCA, symlinkInStaged), wantRunErr: fsutil.ErrSymlink},
	{name: "staged dir missing", build: withPrep(partialServerCA, removeStaged), wantRunErr: fs.ErrNotExist},
	{name: "current server CA missing", build: withPrep(partialServerCA, removeCurrentServerCA), wantRunErr: fs.ErrNotExist},
	{
		name: "staged file cannot be stat'ed", build: withPrep(partialServerCA, etcdDirIsFile), wantRunErr: ErrDefaultBootstrap,
		wantRunMsg: "failed to set default bootstrap values: " +
			"ETCDServerCA: stat {staged}/tls/etcd/server-ca.crt: not a directory, ETCDServerCAKey: stat {staged}/tls/etcd/server-ca.key: not a directory, " +
			"ETCDPeerCA: stat {staged}/tls/etcd/peer-ca.crt: not a directory, ETCDPeerCAKey: stat {staged}/tls/etcd/peer-ca.key: not a directory",
	},
}

func TestValidate(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.build(t)
			curDir, stagedDir := t.TempDir(), t.TempDir()
			if s.inPlace {
				stagedDir = curDir
			}
			writeTree(t, curDir, s.cur)
			writeTree(t, stagedDir, s.staged)
			if s.prep != nil {
				s.prep(t, curDir, stagedDir)
			}
			in := ValidateInput{CurrentDir: curDir, StagedDir: stagedDir, Now: vNow, Force: tc.force, Product: product.K3s}
			r, err := Validate(context.Background(), in)
			if tc.wantRunErr != nil {
				if !errors.Is(err, tc.wantRunErr) {
					t.Fatalf("Validate error = %v, want %v", err, tc.wantRunErr)
				}
				if msg := strings.ReplaceAll(tc.wantRunMsg, "{staged}", stagedDir); msg != "" && err.Error() != msg {
					t.Errorf("Validate error:\n got %s\nwant %s", err, msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for _, w := range r.Warnings {
				t.Log("warning:", w)
			}
			expand := strings.NewReplacer("{staged}", stagedDir, "{cur}", curDir)
			checkReport(t, tc, s, r, expand)
		})
	}
}

func checkReport(t *testing.T, tc validateCase, s scenario, r *Report, expand *strings.Replacer) {
	t.Helper()
	var want []string
	for _, e := range tc.wantErrors {
		want = append(want, expand.Replace(e))
	}
	if !slices.Equal(r.Errors, want) {
		t.Errorf("Errors:\n got %q\nwant %q", r.Errors, want)
	}
	if r.Accepted != (len(want) == 0) || r.OK != (r.Accepted || tc.force) {
		t.Errorf("Accepted=%v OK=%v with %d errors, force=%v", r.Accepted, r.OK, len(want), tc.force)
	}
	checkErr(t, r, want, tc.wantIs)
	if r.Class != tc.wantClass {
		t.Errorf("Class = %q, want %q", r.Class, tc.wantClass)
	}
	if !slices.Equal(r.Defaulted, tc.wantDefaulted) {
		t.Errorf("Defaulted = %v, want %v", r.Defaulted, tc.wantDefaulted)
	}
	if !slices.Equal(r.Changed, tc.wantChanged) {
		t.Errorf("Changed = %v, want %v", r.Changed, tc.wantChanged)
	}
	checkHash(t, s, r)
	for _, w := range tc.wantWarn {
		w = expand.Replace(w)
		if !slices.ContainsFunc(r.Warnings, func(x string) bool { return strings.Contains(x, w) }) {
			t.Errorf("no warning contains %q; warnings:\n%s", w, strings.Join(r.Warnings, "\n"))
		}
	}
}

func checkErr(t *testing.T, r *Report, want []string, wantIs []error) {
	t.Helper()
	err := r.Err()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("Err() = %v, want nil", err)
		}
		return
	}
	wantMsg := "failed to validate new CA certificates and keys: " + strings.Join(want, ", ")
	if err == nil || err.Error() != wantMsg {
		t.Errorf("Err() = %v\nwant %s", err, wantMsg)
	}
	for _, is := range append([]error{ErrValidation}, wantIs...) {
		if !errors.Is(err, is) {
			t.Errorf("errors.Is(Err(), %v) = false", is)
		}
	}
}

func checkHash(t *testing.T, s scenario, r *Report) {
	t.Helper()
	if s.oldHash != "" && r.Hash.Old != s.oldHash {
		t.Errorf("Hash.Old = %s, want %s", r.Hash.Old, s.oldHash)
	}
	want := s.newHash
	switch want {
	case "":
		want = r.Hash.Old
	case hashNone:
		want = ""
	}
	if r.Hash.New != want {
		t.Errorf("Hash.New = %q, want %q (old %s)", r.Hash.New, want, r.Hash.Old)
	}
}

func TestOverallClass(t *testing.T) {
	tests := []struct {
		name       string
		perCA      map[string]Class
		serviceKey bool
		want       Class
	}{
		{"nothing", nil, false, ClassNoChange},
		{"service key only", nil, true, ClassServiceKeyOnly},
		{"same root wins over service key", map[string]Class{"ServerCA": ClassSameRoot}, true, ClassSameRoot},
		{"cross-signed beats same-root", map[string]Class{"ServerCA": ClassSameRoot, "ClientCA": ClassCrossSigned}, false, ClassCrossSigned},
		{"new root beats all", map[string]Class{"ETCDPeerCA": ClassNewRoot, "ServerCA": ClassCrossSigned, "ClientCA": ClassSameRoot}, true, ClassNewRoot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := overallClass(tc.perCA, tc.serviceKey); got != tc.want {
				t.Errorf("overallClass = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClassExplain(t *testing.T) {
	tests := []struct {
		class Class
		says  []string
	}{
		{ClassNoChange, []string{"No CA"}},
		{ClassServiceKeyOnly, []string{"service-account key"}},
		{ClassSameRoot, []string{"Non-disruptive", "hash stays the same"}},
		{ClassCrossSigned, []string{"hash changes", "no --force", "new token"}},
		{ClassNewRoot, []string{"--force", "new token", "pods"}},
		{Class("bogus"), []string{"Unknown"}},
	}
	for _, tc := range tests {
		got := tc.class.Explain()
		for _, s := range tc.says {
			if !strings.Contains(got, s) {
				t.Errorf("%q.Explain() = %q, lacks %q", tc.class, got, s)
			}
		}
	}
}

func TestReportErr(t *testing.T) {
	readErr := "ServerCA: error reading /x/tls/server-ca.crt: data does not contain any valid RSA or ECDSA certificates"
	tests := []struct {
		name    string
		errors  []string
		force   bool
		wantMsg string
		wantIs  []error
		notIs   []error
	}{
		{name: "accepted", wantMsg: ""},
		{
			name: "one error is not joined", errors: []string{"ServiceKey: " + ErrServiceKeyDropped.Error()},
			wantMsg: "failed to validate new CA certificates and keys: ServiceKey: old ServiceAccount signing key not in new ServiceAccount key list",
			wantIs:  []error{ErrValidation, ErrServiceKeyDropped}, notIs: []error{ErrSingleCert, ErrChainUnverified, ErrKeyPair},
		},
		{
			name: "several errors joined with comma", force: true,
			errors:  []string{"ServerCA: " + msgSingle, "ServerCAKey: " + msgKeyPair + "tls: private key does not match public key"},
			wantMsg: "failed to validate new CA certificates and keys: ServerCA: " + msgSingle + ", ServerCAKey: " + msgKeyPair + "tls: private key does not match public key",
			wantIs:  []error{ErrValidation, ErrSingleCert, ErrKeyPair}, notIs: []error{ErrChainUnverified, ErrServiceKeyDropped},
		},
		{
			name: "file error has no class", errors: []string{readErr},
			wantMsg: "failed to validate new CA certificates and keys: " + readErr,
			wantIs:  []error{ErrValidation}, notIs: []error{ErrSingleCert, ErrChainUnverified, ErrKeyPair, ErrServiceKeyDropped},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Errors: tc.errors, Accepted: len(tc.errors) == 0, OK: len(tc.errors) == 0 || tc.force}
			// A report that went through JSON (-o json) keeps its error classes.
			data, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			for _, rep := range []*Report{r, &back} {
				err := rep.Err()
				if tc.wantMsg == "" {
					if err != nil {
						t.Fatalf("Err() = %v, want nil", err)
					}
					continue
				}
				if err == nil || err.Error() != tc.wantMsg {
					t.Fatalf("Err() = %v\nwant %s", err, tc.wantMsg)
				}
				for _, e := range tc.wantIs {
					if !errors.Is(err, e) {
						t.Errorf("errors.Is(err, %q) = false", e)
					}
				}
				for _, e := range tc.notIs {
					if errors.Is(err, e) {
						t.Errorf("errors.Is(err, %q) = true", e)
					}
				}
			}
		})
	}
}

func TestBundleRoot(t *testing.T) {
	root := fxRoot(t, "root", nil, withSelfAKI())
	inter := fxIssue(t, "inter", root)
	expired := fxIssue(t, "expired-inter", root, withValidity(vNow.AddDate(-2, 0, 0), vNow.AddDate(0, 0, -1)))
	oldRoot := fxRoot(t, "old", nil)
	newRoot := fxRoot(t, "new-root", nil, withSelfAKI())
	cross := fxCross(t, newRoot, oldRoot)
	underNew := fxIssue(t, "ca", newRoot)
	// impostor has root's name and key id but another key.
	impostor := fxRoot(t, "root", nil, func(s *testkit.CertSpec) { s.SubjectKeyID, s.SelfAKI = root.cert.SubjectKeyId, true })
	tests := []struct {
		name     string
		bundle   []*x509.Certificate
		checkSig string // want with signature checks; CN of the root, "" for none
		names    string // want from names and key ids alone
	}{
		{"single cert is its own root", []*x509.Certificate{oldRoot.cert}, "old", "old"},
		{"intermediate chain", []*x509.Certificate{fxIssue(t, "ca", inter).cert, inter.cert, root.cert}, "root", "root"},
		{"expired intermediate still leads to its root", []*x509.Certificate{fxIssue(t, "ca", expired).cert, expired.cert, root.cert}, "root", "root"},
		{"cross-signed: roots first, like hashCA", []*x509.Certificate{underNew.cert, newRoot.cert, cross.cert, oldRoot.cert}, "new-root", "new-root"},
		{"cross-signed root listed first: still the root candidate", []*x509.Certificate{underNew.cert, cross.cert, newRoot.cert, oldRoot.cert}, "new-root", "new-root"},
		{"cross-signed without the self-signed root", []*x509.Certificate{underNew.cert, cross.cert, oldRoot.cert}, "old", "old"},
		{"issuer name forged", []*x509.Certificate{fxIssue(t, "ca", impostor).cert, root.cert}, "", "root"},
		{"no issuer in the bundle", []*x509.Certificate{underNew.cert, oldRoot.cert}, "", ""},
		{"empty", nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []struct {
				checkSig bool
				want     string
			}{{true, tc.checkSig}, {false, tc.names}} {
				got := ""
				if c := bundleRoot(tc.bundle, mode.checkSig); c != nil {
					got = c.Subject.CommonName
				}
				if got != mode.want {
					t.Errorf("bundleRoot(checkSig=%v) = %q, want %q", mode.checkSig, got, mode.want)
				}
			}
			// Where hashCA finds a chain, it ends at the same root.
			if h, err := HashCA(testkit.CertPEM(tc.bundle...), vNow); err == nil && h.Method == HashChainRoot && h.Root.Subject.CommonName != tc.checkSig {
				t.Errorf("HashCA root = %q, bundleRoot = %q", h.Root.Subject.CommonName, tc.checkSig)
			}
		})
	}
}

func TestValidateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, err := Validate(ctx, ValidateInput{CurrentDir: dir, StagedDir: dir, Now: vNow}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Validate with a canceled context = %v, want context.Canceled", err)
	}
}

// TestValidateReadErrorIsNotARefusal: a staged file that cannot be read
// (here a directory in its place: EISDIR, as EIO would be) makes
// validation fail with an error naming it, never a k3s refusal.
func TestValidateReadErrorIsNotARefusal(t *testing.T) {
	cur, staged := t.TempDir(), t.TempDir()
	set, err := GenerateDefaultCAs(GenOptions{Product: product.K3s, Now: vNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Write(context.Background(), cur, vNow); err != nil {
		t.Fatal(err)
	}
	bad := ServerCAPath(staged)
	if err := os.MkdirAll(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	rep, err := Validate(context.Background(), ValidateInput{CurrentDir: cur, StagedDir: staged, Now: vNow, Product: product.K3s})
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("validate: report %+v, err %v; want an error naming %s", rep, err, bad)
	}
}
