package pki

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gtServerDir writes a staged set into a fresh server dir and returns it.
func gtServerDir(t *testing.T, sets ...*StagedSet) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "server")
	for _, s := range sets {
		if err := s.Write(t.Context(), dir, gtNow); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// gtValidateCA replicates k3s's validateCA (spec 8, step 4).
func gtValidateCA(oldCerts, newCerts []*x509.Certificate, now time.Time) error {
	if len(newCerts) == 1 {
		return errors.New("new CA bundle contains only a single certificate")
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range oldCerts {
		if len(c.AuthorityKeyId) == 0 || string(c.AuthorityKeyId) == string(c.SubjectKeyId) {
			roots.AddCert(c)
		} else {
			inters.AddCert(c)
		}
	}
	for _, c := range newCerts[1:] {
		if len(c.AuthorityKeyId) > 0 {
			inters.AddCert(c)
		}
	}
	_, err := newCerts[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: now})
	return err
}

// gtRotate runs GenerateRotation on dir at now, checks the result against the
// files in dir and k3s's validation, and returns the set.
// gtRotationPaths is the default layout plus one ca/<type>-root.key per CA.
func gtRotationPaths() []string {
	var out []string
	for _, ca := range CATypes {
		out = append(out, ca.CertField().Path, ca.KeyFieldInfo().Path, RotationRootKeyPath(ca))
	}
	return append(out, ServiceKeyPath)
}

func gtRotate(t *testing.T, dir string, now time.Time) *StagedSet {
	t.Helper()
	set, err := GenerateRotation(t.Context(), gtOpts(now), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := gtPaths(set); !slices.Equal(got, gtRotationPaths()) {
		t.Fatalf("paths = %v", got)
	}
	for _, ca := range CATypes {
		old, err := LoadBundle(ca.CertField().Abs(dir))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := LoadPrivateKeys(ca.KeyFieldInfo().Abs(dir))
		if err != nil {
			t.Fatal(err)
		}
		gtCheckRotatedCA(t, set, ca, old, len(keys), now)
	}
	current, err := os.ReadFile(filepath.Join(dir, "tls", "service.key"))
	if err != nil {
		t.Fatal(err)
	}
	gtCheckServiceKey(t, gtFile(t, set, ServiceKeyPath).Data, KeyECDSAP256, current, string(current))
	staged := t.TempDir()
	if err := set.Write(t.Context(), staged, now); err != nil {
		t.Fatal(err)
	}
	r, err := Validate(t.Context(), ValidateInput{CurrentDir: dir, StagedDir: staged, Now: now})
	if err != nil || !r.Accepted || len(r.Errors) > 0 {
		t.Fatalf("Validate: %v, accepted %v, errors %q", err, r != nil && r.Accepted, r.Errors)
	}
	return set
}

// gtCheckRotatedCA checks one rotated CA against the current bundle old,
// whose key file held oldKeys keys.
func gtCheckRotatedCA(t *testing.T, set *StagedSet, ca CAType, old []*x509.Certificate, oldKeys int, now time.Time) {
	t.Helper()
	b := gtCerts(t, set, ca.CertField().Path)
	if len(b) != 4 {
		t.Fatalf("%s: %d certs, want 4", ca.Type, len(b))
	}
	inter, ssigned, xsigned, oldRoot := b[0], b[1], b[2], b[3]
	wantOld := old[0]
	if len(old) > 1 && oldKeys > 1 {
		wantOld = old[1]
	}
	ts := "@" + strconv.FormatInt(now.Unix(), 10)
	gtCheckScriptCA(t, now, ssigned, ssigned, ca.ScriptCN(gtOpts(now).Product, "-root")+ts, 7300)
	gtCheckScriptCA(t, now, inter, ssigned, ca.ScriptCN(gtOpts(now).Product, "-ca")+ts, 7300)
	if !oldRoot.Equal(wantOld) {
		t.Errorf("%s: 4th cert %q, want old root %q", ca.Type, oldRoot.Subject.CommonName, wantOld.Subject.CommonName)
	}
	if string(xsigned.RawSubject) != string(ssigned.RawSubject) || !PublicKeyEqual(xsigned.PublicKey, ssigned.PublicKey) ||
		string(xsigned.SubjectKeyId) != string(ssigned.SubjectKeyId) {
		t.Errorf("%s: cross-signed root differs from the self-signed one in subject, key or SKI", ca.Type)
	}
	if string(xsigned.RawIssuer) != string(wantOld.RawSubject) || xsigned.CheckSignatureFrom(wantOld) != nil ||
		string(xsigned.AuthorityKeyId) != string(wantOld.SubjectKeyId) || !xsigned.NotAfter.Equal(now.Add(7300*24*time.Hour)) {
		t.Errorf("%s: cross-signed root is not signed by the old root %q", ca.Type, wantOld.Subject.CommonName)
	}
	keys, err := ParsePrivateKeys(gtFile(t, set, ca.KeyFieldInfo().Path).Data)
	if err != nil || len(keys) != 1 || !PublicKeyEqual(keys[0].Public(), inter.PublicKey) {
		t.Errorf("%s: key file is not the CA key alone (%d keys, %v)", ca.Type, len(keys), err)
	}
	rootFile := gtFile(t, set, RotationRootKeyPath(ca))
	rootKeys, err := ParsePrivateKeys(rootFile.Data)
	if err != nil || len(rootKeys) != 1 || !PublicKeyEqual(rootKeys[0].Public(), ssigned.PublicKey) || rootFile.Mode != 0o600 {
		t.Errorf("%s: %s is not the new root key, 0600 (%d keys, %v, %o)", ca.Type, RotationRootKeyPath(ca), len(rootKeys), err, rootFile.Mode)
	}
	gtKeyPair(t, set, ca.CertField().Path, ca.KeyFieldInfo().Path)
	if err := gtValidateCA(old, b, now); err != nil {
		t.Errorf("%s: validateCA: %v", ca.Type, err)
	}
	if ca.Field == "ServerCA" {
		h, _, err := set.ServerCAHash(now)
		sum := sha256.Sum256(ssigned.Raw)
		if err != nil || h.Method != HashChainRoot || h.Hex != hex.EncodeToString(sum[:]) {
			t.Errorf("hashCA = %+v %v, want sha256 of the self-signed new root", h, err)
		}
	}
}

func TestGenRotationTwice(t *testing.T) {
	defaults, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	dir := gtServerDir(t, defaults)
	first := gtRotate(t, dir, gtNow.Add(24*time.Hour))
	if err := first.Write(t.Context(), dir, gtNow.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	second := gtRotate(t, dir, gtNow.Add(48*time.Hour))
	// The first rotation kept its root key out of tls/, so the second one is
	// cross-signed by the first rotation's CA, which chains to its root.
	prevCA := gtCerts(t, first, "tls/server-ca.crt")[0]
	if got := gtCerts(t, second, "tls/server-ca.crt")[3]; !got.Equal(prevCA) {
		t.Errorf("second rotation: old CA %q, want the first rotation's CA", got.Subject.CommonName)
	}
	stage := t.TempDir()
	if err := second.Write(t.Context(), stage, gtNow.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rep, err := Validate(t.Context(), ValidateInput{CurrentDir: dir, StagedDir: stage, Now: gtNow.Add(48 * time.Hour)})
	if err != nil || !rep.Accepted || rep.Class != ClassCrossSigned {
		t.Errorf("second rotation: validate = %+v, %v; want accepted, cross-signed", rep, err)
	}
	if len(first.Notes)+len(second.Notes) == 0 {
		t.Errorf("no CA hash note")
	}
}

func TestGenRotationOfCustomCA(t *testing.T) {
	custom, err := GenerateCustomCA(t.Context(), gtOpts(gtNow), CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	dir := gtServerDir(t, custom)
	set := gtRotate(t, dir, gtNow.Add(time.Hour))
	if !slices.ContainsFunc(set.Notes, func(n string) bool { return strings.Contains(n, "root key is not in the key file") }) {
		t.Errorf("no note about the single-key cross-sign: %q", set.Notes)
	}
}

func TestGenRotationErrors(t *testing.T) {
	defaults, err := GenerateDefaultCAs(gtOpts(gtNow))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		ctx     context.Context
		wantErr error
		wantMsg string
	}{
		{"missing cert", func(t *testing.T, dir string) { gtRemove(t, dir, "tls/etcd/peer-ca.crt") }, nil, ErrCurrentCAMissing, "current etcd/peer CA cert"},
		{"missing key", func(t *testing.T, dir string) { gtRemove(t, dir, "tls/server-ca.key") }, nil, ErrCurrentCAMissing, "current server CA key"},
		{"missing service key", func(t *testing.T, dir string) { gtRemove(t, dir, "tls/service.key") }, nil, ErrCurrentServiceKeyMissing, ""},
		{"wrong key", func(t *testing.T, dir string) {
			gtCopy(t, dir, "tls/client-ca.key", "tls/server-ca.key")
		}, nil, ErrKeyDoesNotMatchCert, "server"},
		{"truncated bundle", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "tls", "request-header-ca.crt")
			data, _ := os.ReadFile(p)
			if err := os.WriteFile(p, append(data, data[:len(data)-40]...), 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, ErrTruncatedPEM, "request-header"},
		{"cancelled", func(*testing.T, string) {}, cancelled, context.Canceled, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := gtServerDir(t, defaults)
			tc.mutate(t, dir)
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			set, err := GenerateRotation(ctx, gtOpts(gtNow), dir)
			if !errors.Is(err, tc.wantErr) || set != nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}

func gtRemove(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
		t.Fatal(err)
	}
}

func gtCopy(t *testing.T, dir, from, to string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(from)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(to)), data, 0o600); err != nil {
		t.Fatal(err)
	}
}
