package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

func tcSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestHashCA(t *testing.T) {
	// generate-custom-ca-certs.sh shape: CA <- intermediate <- root (AKI = SKI on root)
	root, rootKey := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-root-ca@1", IsCA: true, SelfAKI: true, NotBefore: tcEpoch.Add(-30 * tcDay), NotAfter: tcEpoch.Add(7300 * tcDay)})
	inter, interKey := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-intermediate-ca@1", IsCA: true, Parent: root, ParentKey: rootKey, NotAfter: tcEpoch.Add(3700 * tcDay)})
	ca, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-ca@1", IsCA: true, Parent: inter, ParentKey: interKey, NotAfter: tcEpoch.Add(3700 * tcDay)})

	// rotate-default-ca-certs.sh shape: new CA, ssigned new root, xsigned new root, old root (no AKI)
	old, oldKey := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-ca@0", IsCA: true, NotBefore: tcEpoch.Add(-1000 * tcDay), NotAfter: tcEpoch.Add(2650 * tcDay)})
	nrKey := testkit.ECKey(t, nil)
	ssigned, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-root@2", IsCA: true, SelfAKI: true, Key: nrKey, NotAfter: tcEpoch.Add(7300 * tcDay)})
	xsigned, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-root@2", IsCA: true, Key: nrKey, Parent: old, ParentKey: oldKey, NotAfter: tcEpoch.Add(7300 * tcDay)})
	newCA, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-ca@2", IsCA: true, Parent: ssigned, ParentKey: nrKey, NotAfter: tcEpoch.Add(7300 * tcDay)})

	expiredInter, eKey := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "expired-inter", IsCA: true, Parent: root, ParentKey: rootKey, NotBefore: tcEpoch.Add(-20 * tcDay), NotAfter: tcEpoch.Add(-tcDay)})
	caOfExpired, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "ca-of-expired", IsCA: true, Parent: expiredInter, ParentKey: eKey, NotBefore: tcEpoch.Add(-10 * tcDay)})
	unrelated, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "unrelated", IsCA: true})

	single := testkit.CertPEM(ca)
	tests := []struct {
		name       string
		bundle     []byte
		now        time.Time
		wantHex    string
		wantMethod HashMethod
		wantErr    error
	}{
		{name: "single cert: raw file bytes", bundle: single, now: tcEpoch, wantHex: tcSHA(single), wantMethod: HashFileBytes},
		{name: "single cert: trailing newline counts", bundle: append(append([]byte{}, single...), '\n'), now: tcEpoch, wantHex: tcSHA(append(append([]byte{}, single...), '\n')), wantMethod: HashFileBytes},
		{name: "single cert with text around it", bundle: append([]byte("comment\n"), single...), now: tcEpoch, wantHex: tcSHA(append([]byte("comment\n"), single...)), wantMethod: HashFileBytes},
		{name: "custom CA bundle: DER of the root", bundle: testkit.CertPEM(ca, inter, root), now: tcEpoch, wantHex: tcSHA(root.Raw), wantMethod: HashChainRoot},
		{name: "cross-signed bundle ends at the self-signed new root", bundle: testkit.CertPEM(newCA, ssigned, xsigned, old), now: tcEpoch, wantHex: tcSHA(ssigned.Raw), wantMethod: HashChainRoot},
		{name: "expired intermediate: silent fallback", bundle: testkit.CertPEM(caOfExpired, expiredInter, root), now: tcEpoch, wantHex: tcSHA(testkit.CertPEM(caOfExpired, expiredInter, root)), wantMethod: HashFallback},
		{name: "same bundle before expiry", bundle: testkit.CertPEM(caOfExpired, expiredInter, root), now: tcEpoch.Add(-2 * tcDay), wantHex: tcSHA(root.Raw), wantMethod: HashChainRoot},
		{name: "no chain: fallback", bundle: testkit.CertPEM(ca, unrelated), now: tcEpoch, wantHex: tcSHA(testkit.CertPEM(ca, unrelated)), wantMethod: HashFallback},
		{name: "no certificate", bundle: []byte("nothing here\n"), now: tcEpoch, wantErr: ErrNoCertificates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HashCA(tt.bundle, tt.now)
			if testkit.ExpectErr(t, err, tt.wantErr) {
				return
			}
			if got.Hex != tt.wantHex || got.Method != tt.wantMethod {
				t.Fatalf("HashCA = %s (%s), want %s (%s); verify err %v", got.Hex, got.Method, tt.wantHex, tt.wantMethod, got.VerifyErr)
			}
			if (got.Method == HashFallback) != (got.VerifyErr != nil) {
				t.Fatalf("VerifyErr = %v for method %s", got.VerifyErr, got.Method)
			}
			if got.Method == HashChainRoot && tcSHA(got.Root.Raw) != got.Hex {
				t.Fatal("Root does not match Hex")
			}
		})
	}
}

// TestHashCAKAT checks HashCA against the CA hash in the raw token of the
// first known-answer vector, whose plaintext carries the cluster's ServerCA.
func TestHashCAKAT(t *testing.T) {
	raw, err := os.ReadFile(testkit.KATPath())
	if err != nil {
		t.Fatalf("known-answer vectors: %v", err)
	}
	var vectors []struct {
		Name      string `json:"name"`
		RawToken  string `json:"raw_token"`
		Plaintext string `json:"plaintext"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 || vectors[0].Name != "default-cluster-bootstrap" {
		t.Fatalf("first vector is not default-cluster-bootstrap")
	}
	v := vectors[0]
	var plain map[string]struct {
		Timestamp time.Time
		Content   []byte // base64 in JSON
	}
	if err := json.Unmarshal([]byte(v.Plaintext), &plain); err != nil {
		t.Fatal(err)
	}
	serverCA := plain["ServerCA"].Content
	certs, err := ParseCertsPEM(serverCA)
	if err != nil {
		t.Fatal(err)
	}
	now := certs[0].NotBefore.Add(time.Hour)
	got, err := HashCA(serverCA, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseToken(v.RawToken)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hex != tok.CAHash || len(got.Hex) != 64 || strings.ToLower(got.Hex) != got.Hex {
		t.Fatalf("HashCA(ServerCA) = %s, token carries %s", got.Hex, tok.CAHash)
	}
}
