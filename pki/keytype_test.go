package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/product"
)

// gtNow is the pinned clock of the generation tests.
var gtNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// gtOpts are GenOptions with the pinned clock; fast RSA-free defaults unless set.
func gtOpts(now time.Time) GenOptions {
	return GenOptions{Product: product.K3s, Now: now, ServiceKeyType: KeyECDSAP256}
}

// gtFile returns a staged file or fails the test.
func gtFile(t testing.TB, s *StagedSet, p string) StagedFile {
	t.Helper()
	f, ok := s.File(p)
	if !ok {
		t.Fatalf("staged set %s has no %s", s.Kind, p)
	}
	return f
}

// gtCerts parses a staged certificate file.
func gtCerts(t testing.TB, s *StagedSet, p string) []*x509.Certificate {
	t.Helper()
	certs, err := ParseBundle(gtFile(t, s, p).Data)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return certs
}

// gtKeyPair checks that the first cert and first key load as a TLS key pair, as k3s does.
func gtKeyPair(t testing.TB, s *StagedSet, certPath, keyPath string) {
	t.Helper()
	if _, err := tls.X509KeyPair(gtFile(t, s, certPath).Data, gtFile(t, s, keyPath).Data); err != nil {
		t.Errorf("%s + %s: X509KeyPair: %v", certPath, keyPath, err)
	}
}

// gtPaths lists the staged paths in order.
func gtPaths(s *StagedSet) []string {
	out := make([]string, len(s.Files))
	for i, f := range s.Files {
		out[i] = f.Path
	}
	return out
}

func TestGenParseKeyType(t *testing.T) {
	tests := []struct {
		in      string
		want    KeyType
		wantErr bool
	}{
		{"", KeyECDSAP256, false},
		{"ecdsa-p256", KeyECDSAP256, false},
		{"ECDSA-P384", KeyECDSAP384, false},
		{" rsa-2048 ", KeyRSA2048, false},
		{"rsa-3072", KeyRSA3072, false},
		{"rsa-4096", KeyRSA4096, false},
		{"ed25519", KeyEd25519, false},
		{"rsa-1024", "", true},
		{"dsa", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseKeyType(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrUnknownKeyType) {
					t.Fatalf("err = %v, want ErrUnknownKeyType", err)
				}
				for _, k := range KeyTypes {
					if !strings.Contains(err.Error(), string(k)) {
						t.Errorf("error %q does not list %s", err, k)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseKeyType(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestGenKeyTypeGenerate(t *testing.T) {
	blocks := map[KeyType]string{
		KeyECDSAP256: BlockECKey, KeyECDSAP384: BlockECKey, KeyRSA2048: BlockRSAKey,
		KeyRSA3072: BlockRSAKey, KeyRSA4096: BlockRSAKey, KeyEd25519: BlockPKCS8Key,
	}
	if len(blocks) != len(KeyTypes) {
		t.Fatalf("test table covers %d key types, KeyTypes has %d", len(blocks), len(KeyTypes))
	}
	for _, k := range KeyTypes {
		t.Run(string(k), func(t *testing.T) {
			key, err := k.Generate(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := KeyTypeOf(key.Public()); got != k {
				t.Errorf("KeyTypeOf = %q", got)
			}
			data, err := EncodeKey(key)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil || b.Type != blocks[k] {
				t.Errorf("PEM block %v, want %s", b, blocks[k])
			}
			keys, err := ParsePrivateKeys(data)
			if err != nil || len(keys) != 1 || !PublicKeyEqual(keys[0].Public(), key.Public()) {
				t.Errorf("round trip: %d keys, %v", len(keys), err)
			}
		})
	}
	if _, err := KeyType("dsa-1024").Generate(nil); !errors.Is(err, ErrUnknownKeyType) {
		t.Errorf("unknown key type: err = %v", err)
	}
}

func TestGenOptionsResolve(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*GenOptions)
		wantErr error
	}{
		{"no clock", func(o *GenOptions) { o.Now = time.Time{} }, ErrNoClock},
		{"ed25519 service key", func(o *GenOptions) { o.ServiceKeyType = KeyEd25519 }, ErrEd25519ServiceKey},
		{"bad CA key type", func(o *GenOptions) { o.KeyType = "rsa-512" }, ErrUnknownKeyType},
		{"bad root key type", func(o *GenOptions) { o.RootKeyType = "x" }, ErrUnknownKeyType},
		{"bad service key type", func(o *GenOptions) { o.ServiceKeyType = "x" }, ErrUnknownKeyType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := gtOpts(gtNow)
			tc.mod(&o)
			if _, err := GenerateDefaultCAs(o); !errors.Is(err, tc.wantErr) {
				t.Errorf("GenerateDefaultCAs: err = %v, want %v", err, tc.wantErr)
			}
			if _, err := GenerateCustomCA(t.Context(), o, CustomCAInput{}); !errors.Is(err, tc.wantErr) {
				t.Errorf("GenerateCustomCA: err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	g, err := GenOptions{Now: gtNow, RootKeyType: KeyRSA2048}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if g.caKey != KeyECDSAP256 || g.rootKey != KeyRSA2048 || g.svcKey != KeyRSA2048 || g.ts() != "@1740830400" {
		t.Errorf("defaults: ca %s root %s svc %s ts %s", g.caKey, g.rootKey, g.svcKey, g.ts())
	}
}
