package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

var updateStructure = flag.Bool("update-structure", false, "rewrite testdata/genstructure/*.golden")

// TestGenStructureGolden pins everything of a generated set that does not
// depend on the keys themselves: file order, paths, modes (staged and
// written), purposes, notes; per certificate subject, issuer, serial kind,
// validity, key usages, extensions (OID and criticality), SKI method, AKI,
// signature algorithm, key type and which certificate signed it. The golden
// files were written by the sequential generators before keys were
// generated concurrently; the output must stay exactly the same.
func TestGenStructureGolden(t *testing.T) {
	now := testkit.Now
	ctx := t.Context()
	earlier := func(t *testing.T) *StagedSet {
		t.Helper()
		set, err := GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: now.Add(-30 * 24 * time.Hour)}, CustomCAInput{})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	file := func(t *testing.T, s *StagedSet, p string) []byte {
		t.Helper()
		f, ok := s.File(p)
		if !ok {
			t.Fatalf("no %s in the %s set", p, s.Kind)
		}
		return f.Data
	}
	defaults := func(t *testing.T) string {
		t.Helper()
		set, err := GenerateDefaultCAs(GenOptions{Product: product.K3s, Now: now.Add(-300 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return gtServerDir(t, set)
	}
	tests := []struct {
		name string
		gen  func(t *testing.T) (*StagedSet, error)
	}{
		{"default-k3s", func(*testing.T) (*StagedSet, error) {
			return GenerateDefaultCAs(GenOptions{Product: product.K3s, Now: now})
		}},
		{"default-rke2-p384", func(*testing.T) (*StagedSet, error) {
			return GenerateDefaultCAs(GenOptions{Product: product.RKE2, Now: now, KeyType: KeyECDSAP384, ServiceKeyType: KeyECDSAP256})
		}},
		{"custom-generated", func(*testing.T) (*StagedSet, error) {
			return GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: now}, CustomCAInput{})
		}},
		{"custom-rsa-root", func(*testing.T) (*StagedSet, error) {
			return GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: now, RootKeyType: KeyRSA2048}, CustomCAInput{})
		}},
		{"custom-root-imported", func(t *testing.T) (*StagedSet, error) {
			cur := earlier(t)
			return GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: now}, CustomCAInput{
				RootCert: file(t, cur, RootCertPath), RootKey: file(t, cur, RootKeyPath), CurrentServiceKey: file(t, cur, ServiceKeyPath),
			})
		}},
		{"custom-root-and-intermediate-imported", func(t *testing.T) (*StagedSet, error) {
			cur := earlier(t)
			return GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: now}, CustomCAInput{
				RootCert: file(t, cur, RootCertPath), IntermediateCert: file(t, cur, IntermediateCertPath),
				IntermediateKey: file(t, cur, IntermediateKeyPath),
			})
		}},
		{"rotation", func(t *testing.T) (*StagedSet, error) {
			return GenerateRotation(ctx, GenOptions{Product: product.K3s, Now: now}, defaults(t))
		}},
		{"rotation-twice", func(t *testing.T) (*StagedSet, error) {
			dir := defaults(t)
			first, err := GenerateRotation(ctx, GenOptions{Product: product.K3s, Now: now.Add(-24 * time.Hour)}, dir)
			if err != nil {
				return nil, err
			}
			if err := first.Write(ctx, dir, now); err != nil {
				return nil, err
			}
			return GenerateRotation(ctx, GenOptions{Product: product.K3s, Now: now}, dir)
		}},
		{"service-key", func(t *testing.T) (*StagedSet, error) {
			return GenerateServiceKeyRotation(ctx, GenOptions{Product: product.K3s, Now: now, ServiceKeyType: KeyRSA3072},
				file(t, earlier(t), ServiceKeyPath))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := tt.gen(t)
			if err != nil {
				t.Fatal(err)
			}
			got := describeSet(t, ctx, set, now)
			path := filepath.Join("testdata", "genstructure", tt.name+".golden")
			if *updateStructure {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-structure to create it)", err)
			}
			if got != string(want) {
				t.Errorf("structure of the %s set changed:\n%s", tt.name, lineDiff(string(want), got))
			}
		})
	}
}

// hexHash matches the CA hashes and tokens in notes, which depend on the keys.
var hexHash = regexp.MustCompile(`[0-9a-f]{64,}`)

// describeSet renders what of set does not depend on the keys' values.
func describeSet(t *testing.T, ctx context.Context, set *StagedSet, now time.Time) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "kind %s\n", set.Kind)
	for _, n := range set.Notes {
		fmt.Fprintf(&b, "note %s\n", hexHash.ReplaceAllString(n, "<hash>"))
	}
	for _, n := range set.RotationNotes {
		fmt.Fprintf(&b, "rotation note %s\n", hexHash.ReplaceAllString(n, "<hash>"))
	}
	// Every certificate of the set, by raw bytes, to name the signer of each.
	var all []*x509.Certificate
	for _, f := range set.Files {
		if !f.Secret {
			certs, err := ParseBundle(f.Data)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			all = append(all, certs...)
		}
	}
	for _, f := range set.Files {
		fmt.Fprintf(&b, "file %s mode %04o secret %v purpose %q\n", f.Path, f.Mode, f.Secret, f.Purpose)
		rest := f.Data
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					t.Fatalf("%s: %v", f.Path, err)
				}
				describeCert(&b, c, all)
			default:
				keys, err := ParsePrivateKeys(pem.EncodeToMemory(blk))
				if err != nil {
					t.Fatalf("%s: %v", f.Path, err)
				}
				fmt.Fprintf(&b, "  key %s %s\n", blk.Type, KeyTypeOf(keys[0].Public()))
			}
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			fmt.Fprintf(&b, "  trailing %q\n", rest)
		}
		if len(rest) > 0 && len(bytes.TrimSpace(rest)) == 0 {
			fmt.Fprintf(&b, "  trailing whitespace %q\n", rest)
		}
	}
	dir := t.TempDir()
	if err := set.Write(ctx, dir, now); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "written %s %v\n", filepath.ToSlash(rel), info.Mode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// describeCert renders one certificate's structure; all names its signer.
func describeCert(b *strings.Builder, c *x509.Certificate, all []*x509.Certificate) {
	serial := "random in [1, 2^63)"
	switch {
	case c.SerialNumber.Sign() == 0:
		serial = "0"
	case c.SerialNumber.Sign() < 0 || c.SerialNumber.Cmp(new(big.Int).Lsh(big.NewInt(1), 63)) >= 0:
		serial = "out of range " + c.SerialNumber.String()
	}
	fmt.Fprintf(b, "  cert subject %q issuer %q serial %s\n", c.Subject.String(), c.Issuer.String(), serial)
	fmt.Fprintf(b, "    valid %s .. %s version %d sig %s key %s\n", c.NotBefore.UTC().Format(time.RFC3339),
		c.NotAfter.UTC().Format(time.RFC3339), c.Version, c.SignatureAlgorithm, KeyTypeOf(c.PublicKey))
	fmt.Fprintf(b, "    ca %v bc %v maxpath %d/%v ku %b eku %v dns %v ips %v\n", c.IsCA, c.BasicConstraintsValid,
		c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage, c.ExtKeyUsage, c.DNSNames, c.IPAddresses)
	var exts []string
	for _, e := range c.Extensions {
		exts = append(exts, fmt.Sprintf("%s crit=%v", e.Id, e.Critical))
	}
	fmt.Fprintf(b, "    extensions %s\n", strings.Join(exts, ", "))
	ski := "none"
	if len(c.SubjectKeyId) > 0 {
		openssl, _ := opensslSKI(c.PublicKey)
		ski = fmt.Sprintf("%d bytes", len(c.SubjectKeyId))
		if bytes.Equal(openssl, c.SubjectKeyId) {
			ski = "openssl sha1"
		}
	}
	signer := "unknown"
	aki := "none"
	for _, p := range all {
		if c.CheckSignatureFrom(p) == nil {
			signer = fmt.Sprintf("%q", p.Subject.String())
			if bytes.Equal(p.Raw, c.Raw) {
				signer = "itself"
			}
			break
		}
	}
	if len(c.AuthorityKeyId) > 0 {
		aki = fmt.Sprintf("%d bytes", len(c.AuthorityKeyId))
		for _, p := range all {
			if bytes.Equal(p.SubjectKeyId, c.AuthorityKeyId) {
				aki = fmt.Sprintf("SKI of %q", p.Subject.String())
				if bytes.Equal(p.Raw, c.Raw) {
					aki = "own SKI"
				}
				break
			}
		}
	}
	fmt.Fprintf(b, "    ski %s aki %s signed by %s\n", ski, aki, signer)
}

// lineDiff lists the lines of want and got that differ, by position.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for i := range max(len(w), len(g)) {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			out = append(out, fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, a, c))
		}
	}
	return strings.Join(out, "\n")
}

// TestGenKeysCancelled: a cancelled context returns its error and no keys,
// whether it was cancelled before the call or while keys are generated.
func TestGenKeysCancelled(t *testing.T) {
	rsa := []keyReq{{"root CA", KeyRSA4096}, {"intermediate CA", KeyRSA4096}, {"service key", KeyRSA2048}}
	tests := []struct {
		name  string
		after time.Duration // cancel this long after the call starts; < 0: before
	}{
		{"before", -1},
		{"during", 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			if tt.after < 0 {
				cancel()
			} else {
				time.AfterFunc(tt.after, cancel)
			}
			defer cancel()
			keys, err := genKeys(ctx, rsa)
			if !errors.Is(err, context.Canceled) || keys != nil {
				t.Fatalf("genKeys = %d keys, %v; want none and context.Canceled", len(keys), err)
			}
		})
	}
}

// TestGenKeysOrderAndTypes: keys come back in the order asked for, each of
// its type, whatever order they were generated in.
func TestGenKeysOrderAndTypes(t *testing.T) {
	tests := []struct {
		name  string
		types []KeyType
	}{
		{"none", nil},
		{"one", []KeyType{KeyECDSAP256}},
		{"small before big", []KeyType{KeyECDSAP256, KeyEd25519, KeyECDSAP384, KeyRSA2048, KeyECDSAP256, KeyRSA3072}},
		{"default set", []KeyType{KeyECDSAP256, KeyECDSAP256, KeyECDSAP256, KeyECDSAP256, KeyECDSAP256, KeyRSA2048}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := make([]keyReq, len(tt.types))
			for i, k := range tt.types {
				reqs[i] = keyReq{label: fmt.Sprint("key ", i), typ: k}
			}
			keys, err := genKeys(t.Context(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]KeyType, len(keys))
			for i, k := range keys {
				got[i] = KeyTypeOf(k.Public())
			}
			if !slices.Equal(got, tt.types) {
				t.Fatalf("key types = %v, want %v", got, tt.types)
			}
		})
	}
}

// TestGenKeysError: a key that cannot be generated fails the set with its
// label, and the other keys are not returned.
func TestGenKeysError(t *testing.T) {
	reqs := []keyReq{{"server CA", KeyECDSAP256}, {"client CA", KeyType("dsa-1024")}, {"service key", KeyRSA2048}}
	keys, err := genKeys(t.Context(), reqs)
	if !errors.Is(err, ErrUnknownKeyType) || !strings.HasPrefix(err.Error(), "client CA: ") || keys != nil {
		t.Fatalf("genKeys = %d keys, %v; want none and a client CA: %v", len(keys), err, ErrUnknownKeyType)
	}
}

// TestGenerateCancelled: every generator returns the context's error and
// no set when its context is cancelled.
func TestGenerateCancelled(t *testing.T) {
	now := testkit.Now
	cur, err := GenerateDefaultCAs(GenOptions{Product: product.K3s, Now: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dir := gtServerDir(t, cur)
	svc, _ := cur.File(ServiceKeyPath)
	// RSA-4096 keys take tens of milliseconds on any machine: the
	// cancellation 2 ms in lands while they are generated.
	opts := GenOptions{Product: product.K3s, Now: now, RootKeyType: KeyRSA4096, ServiceKeyType: KeyRSA4096}
	tests := []struct {
		name string
		gen  func(ctx context.Context) (*StagedSet, error)
	}{
		{"custom-ca", func(ctx context.Context) (*StagedSet, error) { return GenerateCustomCA(ctx, opts, CustomCAInput{}) }},
		{"rotation", func(ctx context.Context) (*StagedSet, error) { return GenerateRotation(ctx, opts, dir) }},
		{"service-key", func(ctx context.Context) (*StagedSet, error) {
			return GenerateServiceKeyRotation(ctx, opts, svc.Data)
		}},
	}
	for _, tt := range tests {
		for _, after := range []time.Duration{-1, 2 * time.Millisecond} {
			t.Run(fmt.Sprint(tt.name, "/", after), func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				if after < 0 {
					cancel()
				} else {
					time.AfterFunc(after, cancel)
				}
				defer cancel()
				set, err := tt.gen(ctx)
				if !errors.Is(err, context.Canceled) || set != nil {
					t.Fatalf("got a set %v, err %v; want none and context.Canceled", set != nil, err)
				}
			})
		}
	}
}
