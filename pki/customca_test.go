package pki

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// gtCA is a certificate and key to import, with their PEM files.
type gtCA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// gtMakeCA makes s (by default valid from gtNow-24h for 1000 days) as an
// import's PEM files.
func gtMakeCA(t testing.TB, s testkit.CertSpec) gtCA {
	t.Helper()
	if s.NotBefore.IsZero() {
		s.NotBefore, s.NotAfter = gtNow.Add(-24*time.Hour), gtNow.Add(1000*24*time.Hour)
	}
	c, key := testkit.MakeCert(t, s)
	return gtCA{cert: c, key: key, certPEM: EncodeCert(c), keyPEM: keyPEM(t, key)}
}

func TestGenCustomCAImportErrors(t *testing.T) {
	root := gtMakeCA(t, testkit.CertSpec{CN: "corp-root", IsCA: true})
	other := gtMakeCA(t, testkit.CertSpec{CN: "other-root", IsCA: true})
	inter := gtMakeCA(t, testkit.CertSpec{CN: "corp-inter", IsCA: true, Parent: root.cert, ParentKey: root.key})
	leaf := gtMakeCA(t, testkit.CertSpec{CN: "not-a-ca", NotCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	noCertSign := gtMakeCA(t, testkit.CertSpec{CN: "no-certsign", IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	expired := gtMakeCA(t, testkit.CertSpec{CN: "old-inter", IsCA: true, Parent: root.cert, ParentKey: root.key, NotBefore: gtNow.Add(-48 * time.Hour), NotAfter: gtNow.Add(-time.Hour)})
	future := gtMakeCA(t, testkit.CertSpec{CN: "future-root", IsCA: true, NotBefore: gtNow.Add(time.Hour), NotAfter: gtNow.Add(48 * time.Hour)})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	truncated := append(slices.Clone(root.certPEM), other.certPEM[:len(other.certPEM)-30]...)
	tests := []struct {
		name string
		in   CustomCAInput
		want error
	}{
		{"intermediate without key", CustomCAInput{RootCert: root.certPEM, IntermediateCert: inter.certPEM}, ErrNoIntermediateKey},
		{"root without key, no intermediate", CustomCAInput{RootCert: root.certPEM}, ErrNoRootKey},
		{"root key without cert", CustomCAInput{RootKey: root.keyPEM}, ErrKeyWithoutCert},
		{"intermediate key without cert", CustomCAInput{RootCert: root.certPEM, IntermediateKey: inter.keyPEM}, ErrKeyWithoutCert},
		{"intermediate without root", CustomCAInput{IntermediateCert: inter.certPEM, IntermediateKey: inter.keyPEM}, ErrIntermediateWithoutRoot},
		{"mismatched root key", CustomCAInput{RootCert: root.certPEM, RootKey: other.keyPEM}, ErrKeyDoesNotMatchCert},
		{"mismatched intermediate key", CustomCAInput{RootCert: root.certPEM, IntermediateCert: inter.certPEM, IntermediateKey: root.keyPEM}, ErrKeyDoesNotMatchCert},
		{"non-CA root", CustomCAInput{RootCert: leaf.certPEM, RootKey: leaf.keyPEM}, ErrImportNotCA},
		{"CA without keyCertSign", CustomCAInput{RootCert: noCertSign.certPEM, RootKey: noCertSign.keyPEM}, ErrImportNotCA},
		{"intermediate of another root", CustomCAInput{RootCert: other.certPEM, IntermediateCert: inter.certPEM, IntermediateKey: inter.keyPEM}, ErrNotSignedByRoot},
		{"expired intermediate", CustomCAInput{RootCert: root.certPEM, IntermediateCert: expired.certPEM, IntermediateKey: expired.keyPEM}, ErrImportExpired},
		{"root not yet valid", CustomCAInput{RootCert: future.certPEM, RootKey: future.keyPEM}, ErrImportNotYetValid},
		{"encrypted root key", CustomCAInput{RootCert: root.certPEM, RootKey: encrypted}, ErrEncryptedKey},
		{"truncated root cert", CustomCAInput{RootCert: truncated, RootKey: root.keyPEM}, ErrTruncatedPEM},
		{"only a truncated cert", CustomCAInput{RootCert: root.certPEM[:len(root.certPEM)-30], RootKey: root.keyPEM}, ErrTruncatedPEM},
		{"no PEM in root cert", CustomCAInput{RootCert: []byte("hello"), RootKey: root.keyPEM}, ErrNoCertificates},
		{"broken service key", CustomCAInput{CurrentServiceKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")}, ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := GenerateCustomCA(t.Context(), gtOpts(gtNow), tc.in)
			if !errors.Is(err, tc.want) || set != nil {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGenCustomCA(t *testing.T) {
	root := gtMakeCA(t, testkit.CertSpec{CN: "corp-root", IsCA: true})
	inter := gtMakeCA(t, testkit.CertSpec{CN: "corp-inter", IsCA: true, Parent: root.cert, ParentKey: root.key})
	ts := strconv.FormatInt(gtNow.Unix(), 10)
	tests := []struct {
		name      string
		opts      GenOptions
		in        CustomCAInput
		wantCA    []string // files under ca/
		rootCN    string
		interCN   string
		generated bool // root generated: expect the offline note
	}{
		{"all generated", gtOpts(gtNow), CustomCAInput{}, []string{RootCertPath, RootKeyPath, IntermediateCertPath, IntermediateKeyPath},
			"k3s-root-ca@" + ts, "k3s-intermediate-ca@" + ts, true},
		{"ed25519 everywhere, rsa root", GenOptions{Now: gtNow, KeyType: KeyEd25519, RootKeyType: KeyRSA2048, ServiceKeyType: KeyECDSAP384},
			CustomCAInput{}, []string{RootCertPath, RootKeyPath, IntermediateCertPath, IntermediateKeyPath},
			"k3s-root-ca@" + ts, "k3s-intermediate-ca@" + ts, true},
		{"root with key imported", gtOpts(gtNow), CustomCAInput{RootCert: root.certPEM, RootKey: root.keyPEM},
			[]string{IntermediateCertPath, IntermediateKeyPath}, "corp-root", "k3s-intermediate-ca@" + ts, false},
		{"root without key + intermediate", gtOpts(gtNow),
			CustomCAInput{RootCert: root.certPEM, IntermediateCert: inter.certPEM, IntermediateKey: inter.keyPEM},
			nil, "corp-root", "corp-inter", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := GenerateCustomCA(t.Context(), tc.opts, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			want := append(slices.Clone(gtDefaultPaths), tc.wantCA...)
			if got := gtPaths(set); !gtSameSet(got, want) {
				t.Fatalf("paths = %v, want %v", got, want)
			}
			var rootCert, interCert *x509.Certificate
			// The CAs get the script's 3700 days, unless an imported
			// intermediate ends sooner: then they end with it, and a note
			// says so.
			days, capped := 3700, false
			if tc.in.IntermediateCert != nil && inter.cert.NotAfter.Before(gtNow.Add(3700*24*time.Hour)) {
				days, capped = int(inter.cert.NotAfter.Sub(gtNow).Hours()/24), true
			}
			if has := slices.ContainsFunc(set.Notes, func(n string) bool { return strings.Contains(n, "they end with it") }); has != capped {
				t.Errorf("capped %v, but the expiry note is there: %v (%q)", capped, has, set.Notes)
			}
			for _, ca := range CATypes {
				bundle := gtCerts(t, set, ca.CertField().Path)
				if len(bundle) != 3 {
					t.Fatalf("%s: %d certs, want 3", ca.Type, len(bundle))
				}
				gtCheckScriptCA(t, gtNow, bundle[0], bundle[1], ca.ScriptCN(tc.opts.Product, "-ca")+"@"+ts, days)
				if bundle[0].NotAfter.After(bundle[1].NotAfter) {
					t.Errorf("%s CA outlives its intermediate: %s > %s", ca.Type, bundle[0].NotAfter, bundle[1].NotAfter)
				}
				if bundle[1].Subject.CommonName != tc.interCN || bundle[2].Subject.CommonName != tc.rootCN {
					t.Errorf("%s: chain %s <- %s", ca.Type, bundle[1].Subject.CommonName, bundle[2].Subject.CommonName)
				}
				if rootCert != nil && (!bundle[2].Equal(rootCert) || !bundle[1].Equal(interCert)) {
					t.Errorf("%s: root or intermediate differs between bundles", ca.Type)
				}
				rootCert, interCert = bundle[2], bundle[1]
				gtKeyPair(t, set, ca.CertField().Path, ca.KeyFieldInfo().Path)
			}
			if tc.generated {
				gtCheckScriptCA(t, gtNow, rootCert, rootCert, tc.rootCN, 7300)
				if !slices.ContainsFunc(set.Notes, func(n string) bool { return strings.Contains(n, "offline") }) {
					t.Errorf("no offline note in %q", set.Notes)
				}
			}
			if tc.in.IntermediateCert == nil {
				gtCheckScriptCA(t, gtNow, interCert, rootCert, tc.interCN, 3700)
				gtKeyPair(t, set, IntermediateCertPath, IntermediateKeyPath)
			}
			if tc.in.RootCert != nil && !rootCert.Equal(root.cert) {
				t.Errorf("imported root not used")
			}
			h, _, err := set.ServerCAHash(gtNow)
			sum := sha256.Sum256(rootCert.Raw)
			if err != nil || h.Method != HashChainRoot || h.Hex != hex.EncodeToString(sum[:]) {
				t.Errorf("hashCA = %+v, %v; want sha256 of root DER", h, err)
			}
			if !slices.ContainsFunc(set.RotationNotes, func(n string) bool { return strings.Contains(n, h.Hex) }) {
				t.Errorf("no note with the CA hash in %q", set.RotationNotes)
			}
		})
	}
}

// gtCheckScriptCA checks a v3_ca cert as openssl makes it for the contrib scripts.
func gtCheckScriptCA(t *testing.T, now time.Time, c, issuer *x509.Certificate, cn string, days int) {
	t.Helper()
	checks := []struct {
		what string
		ok   bool
	}{
		{"CN", c.Subject.String() == "CN="+cn},
		{"issuer", string(c.RawIssuer) == string(issuer.RawSubject)},
		{"signature", c.CheckSignatureFrom(issuer) == nil},
		{"NotBefore now", c.NotBefore.Equal(now)},
		{"validity", c.NotAfter.Equal(now.Add(time.Duration(days) * 24 * time.Hour))},
		{"CA", c.IsCA && c.BasicConstraintsValid},
		{"key usage", c.KeyUsage == x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment|x509.KeyUsageCertSign},
		{"openssl SKI", string(c.SubjectKeyId) == string(gtOpenSSLSKI(t, c))},
		{"AKI = issuer SKI", len(c.AuthorityKeyId) == 20 && string(c.AuthorityKeyId) == string(issuer.SubjectKeyId)},
		{"random serial", c.SerialNumber.Sign() > 0},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s: %s failed", c.Subject.CommonName, ch.what)
		}
	}
}

func gtSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestGenCustomCAServiceKey(t *testing.T) {
	old, err := KeyRSA2048.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	oldPEM, _ := EncodeKey(old)
	tests := []struct {
		name    string
		current []byte
		suffix  string
	}{
		{"none", nil, ""},
		{"with newline", oldPEM, string(oldPEM)},
		{"without newline", oldPEM[:len(oldPEM)-1], string(oldPEM)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := GenerateCustomCA(t.Context(), gtOpts(gtNow), CustomCAInput{CurrentServiceKey: tc.current})
			if err != nil {
				t.Fatal(err)
			}
			gtCheckServiceKey(t, gtFile(t, set, ServiceKeyPath).Data, KeyECDSAP256, tc.current, tc.suffix)
		})
	}
}

// TestGenCustomCAImportErrorNamesTheInput: an import error says which of the
// four files it is about, so a UI can point at it.
func TestGenCustomCAImportErrorNamesTheInput(t *testing.T) {
	root := gtMakeCA(t, testkit.CertSpec{CN: "corp-root", IsCA: true})
	other := gtMakeCA(t, testkit.CertSpec{CN: "other-root", IsCA: true})
	inter := gtMakeCA(t, testkit.CertSpec{CN: "corp-inter", IsCA: true, Parent: root.cert, ParentKey: root.key})
	tests := []struct {
		name string
		in   CustomCAInput
		want ImportInput
	}{
		{"garbage root cert", CustomCAInput{RootCert: []byte("hello"), RootKey: root.keyPEM}, InputRootCert},
		{"mismatched root key", CustomCAInput{RootCert: root.certPEM, RootKey: other.keyPEM}, InputRootKey},
		{"no root key to sign an intermediate", CustomCAInput{RootCert: root.certPEM}, InputRootKey},
		{"intermediate of another root", CustomCAInput{RootCert: other.certPEM, IntermediateCert: inter.certPEM, IntermediateKey: inter.keyPEM}, InputIntermediateCert},
		{"intermediate without its key", CustomCAInput{RootCert: root.certPEM, IntermediateCert: inter.certPEM}, InputIntermediateKey},
		{"garbage intermediate key", CustomCAInput{RootCert: root.certPEM, IntermediateCert: inter.certPEM, IntermediateKey: []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")}, InputIntermediateKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GenerateCustomCA(t.Context(), gtOpts(gtNow), tc.in)
			var ie *ImportError
			if !errors.As(err, &ie) || ie.Input != tc.want {
				t.Fatalf("err = %v, want an ImportError about the %s", err, tc.want)
			}
		})
	}
}
