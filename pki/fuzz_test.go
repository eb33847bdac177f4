package pki

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	k8scert "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// tcSeedPEM is a small corpus of real PEM: a CA bundle, every key encoding,
// CRLF and truncated variants.
func tcSeedPEM(f *testing.F) [][]byte {
	f.Helper()
	k := tcMakeKeys(f)
	root, rootKey := testkit.MakeCert(f, testkit.CertSpec{Now: tcEpoch, CN: "root", IsCA: true, SelfAKI: true})
	ca, _ := testkit.MakeCert(f, testkit.CertSpec{Now: tcEpoch, CN: "ca", IsCA: true, Parent: root, ParentKey: rootKey})
	bundle := testkit.CertPEM(ca, root)
	ec := keyPEM(f, k.ec)
	return [][]byte{
		bundle, testkit.CertPEM(root), tcCRLF(bundle), bundle[:len(bundle)/2],
		ec, keyPEM(f, k.rsa), keyPEM(f, k.ed), tcPKCS8(f, k.ec), tcPKCS8(f, k.rsa),
		tcPKIX(f, k.ec.Public()), tcJoin(ec, bundle, []byte("junk")),
		tcBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}, nil),
		tcBlock("RSA PRIVATE KEY", []byte{1}, map[string]string{"Proc-Type": "4,ENCRYPTED"}),
		[]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), nil,
	}
}

func FuzzParseCertsPEM(f *testing.F) {
	for _, s := range tcSeedPEM(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertsPEM(data)
		ref, rerr := k8scert.ParseCertsPEM(data)
		if (err == nil) != (rerr == nil) || len(certs) != len(ref) {
			t.Fatalf("ours %d, %v; client-go %d, %v", len(certs), err, len(ref), rerr)
		}
		for i := range certs {
			if !bytes.Equal(certs[i].Raw, ref[i].Raw) {
				t.Fatalf("cert %d differs from client-go", i)
			}
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	for _, s := range tcSeedPEM(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseBundle(data)
		lax, laxErr := ParseCertsPEM(data)
		if err == nil && (laxErr != nil || len(lax) != len(certs) || len(certs) == 0) {
			t.Fatalf("strict accepted what lax refused: %v, %d vs %d", laxErr, len(certs), len(lax))
		}
		if err != nil && certs != nil {
			t.Fatal("certs returned with an error")
		}
	})
}

func FuzzParsePrivateKeys(f *testing.F) {
	for _, s := range tcSeedPEM(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParsePrivateKeys(data)
		if err != nil {
			if keys != nil {
				t.Fatal("keys returned with an error")
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("success without keys")
		}
		for _, k := range keys {
			if k == nil || k.Public() == nil {
				t.Fatal("nil key")
			}
			if _, err := EncodeKey(k); err != nil {
				t.Fatalf("parsed key does not encode: %v", err)
			}
		}
	})
}

func FuzzParsePublicKeysPEM(f *testing.F) {
	for _, s := range tcSeedPEM(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParsePublicKeysPEM(data)
		ref, rerr := keyutil.ParsePublicKeysPEM(data)
		if (err == nil) != (rerr == nil) || len(keys) != len(ref) {
			t.Fatalf("ours %d, %v; keyutil %d, %v", len(keys), err, len(ref), rerr)
		}
		for i := range keys {
			if !PublicKeyEqual(keys[i], ref[i]) {
				t.Fatalf("key %d differs from keyutil", i)
			}
		}
	})
}

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		"", "K10::", "K10::x", "K10::x:", "K10XX::x:y", "mysecret", "foo:bar", "K10:::p", "K10user:pass",
		"K10" + strings.Repeat("a", 64) + "::server:a::b", "abcdef.0123456789abcdef",
		"K10" + strings.Repeat("b", 64) + "::abcdef.0123456789abcdef", "pass::word", "K10:x:y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		norm, nerr := NormalizeToken(s)
		if err != nil {
			if nerr == nil {
				t.Fatalf("NormalizeToken accepted what ParseToken refused: %v", err)
			}
			if !errors.Is(err, ErrTokenEmpty) && !errors.Is(err, ErrTokenFormat) && !errors.Is(err, ErrTokenHashLength) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(tok.CAHash) != 0 && len(tok.CAHash) != 64 {
			t.Fatalf("hash of length %d accepted", len(tok.CAHash))
		}
		if (tok.BootstrapToken == "") == (nerr != nil) || (nerr == nil && norm != tok.Password) {
			t.Fatalf("NormalizeToken = %q, %v for %+v", norm, nerr, tok.Masked())
		}
		if tok.BootstrapToken == "" && tok.Password == "" {
			t.Fatal("empty password accepted")
		}
		again, err := ParseToken(tok.String())
		if err != nil || again != tok {
			t.Fatalf("round trip: %v; %q -> %q", err, tok.Masked(), again.Masked())
		}
		if tok.Password != "" && tok.Masked() != FormatToken(tok.CAHash, tok.Username+":********") {
			t.Fatal("Masked is not the token with its password starred out")
		}
	})
}

func FuzzHashCA(f *testing.F) {
	for _, s := range tcSeedPEM(f) {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, offset int64) {
		h, err := HashCA(data, tcEpoch.Add(timeOffset(offset)))
		if err != nil {
			return
		}
		if len(h.Hex) != 64 || strings.ToLower(h.Hex) != h.Hex {
			t.Fatalf("bad hex %q", h.Hex)
		}
		switch h.Method {
		case HashFileBytes, HashFallback:
			if h.Hex != tcSHA(data) {
				t.Fatal("file-bytes hash is not the hash of the input")
			}
		case HashChainRoot:
			if h.Root == nil || h.Hex != tcSHA(h.Root.Raw) {
				t.Fatal("chain-root hash is not the hash of Root")
			}
		default:
			t.Fatalf("unknown method %q", h.Method)
		}
	})
}

// timeOffset folds a fuzzed int64 into +-100 years of nanoseconds.
func timeOffset(n int64) time.Duration {
	const span = int64(100 * 365 * 24 * time.Hour)
	return time.Duration(n % span)
}
