package datastore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
)

// katVector is one entry of the shared known-answer file.
type katVector struct {
	Name            string `json:"name"`
	Passphrase      string `json:"passphrase"`
	RawToken        string `json:"raw_token"`
	StorageKey      string `json:"storage_key"`
	Ciphertext      string `json:"ciphertext"`
	Plaintext       string `json:"plaintext"`
	PlaintextFormat string `json:"plaintext_format"`
	Salt            string `json:"salt"`
	NonceHex        string `json:"nonce_hex"`
	KeyHex          string `json:"key_hex"`
}

// katPath is the project's copy of the shared known-answer vectors
// (TestKATCopyMatchesContract in testkit checks it against the contract).
var katPath = testkit.KATPath()

func loadKAT(t testing.TB) []katVector {
	t.Helper()
	b, err := os.ReadFile(katPath)
	if err != nil {
		t.Fatalf("known-answer vectors: %v", err)
	}
	var vs []katVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("parse %s: %v", katPath, err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s holds no vectors", katPath)
	}
	return vs
}

func TestKATDecrypt(t *testing.T) {
	vs := loadKAT(t)
	var flatRef Bootstrap
	for _, v := range vs {
		if v.PlaintextFormat == "paths-dataformat" && len(v.Plaintext) > 1000 {
			flatRef, _ = DecodeBootstrap([]byte(v.Plaintext))
		}
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			if got := StorageKey(v.Passphrase); got != v.StorageKey {
				t.Errorf("StorageKey = %s, want %s", got, v.StorageKey)
			}
			if v.RawToken != "" {
				p, err := PassphraseFromToken(v.RawToken)
				if err != nil || p != v.Passphrase {
					t.Errorf("PassphraseFromToken = %q, %v; want the vector's passphrase", p, err)
				}
			}
			plain, err := Decrypt(v.Passphrase, []byte(v.Ciphertext))
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(plain) != v.Plaintext {
				t.Fatalf("plaintext differs (%d vs %d bytes)", len(plain), len(v.Plaintext))
			}
			if _, err := Decrypt(v.Passphrase+"x", []byte(v.Ciphertext)); !errors.Is(err, ErrWrongToken) {
				t.Errorf("wrong passphrase: %v, want ErrWrongToken", err)
			}
			data, legacy, err := DecodeBootstrapFormat(plain)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want := v.PlaintextFormat == "legacy-flat"; legacy != want {
				t.Fatalf("legacy = %v, format %s", legacy, v.PlaintextFormat)
			}
			for k := range data {
				if _, ok := pki.Field(k); !ok {
					t.Errorf("unknown field %q", k)
				}
			}
			if legacy {
				// The legacy vector is the default cluster's files, flat.
				for k, e := range data {
					if !e.Timestamp.IsZero() || !bytes.Equal(e.Content, flatRef[k].Content) {
						t.Errorf("%s: legacy entry differs from the default cluster's", k)
					}
				}
				return
			}
			enc, err := data.Encode()
			if err != nil || !bytes.Equal(enc, plain) {
				t.Errorf("Encode(Decode(plaintext)) is not byte-identical: %v", err)
			}
			if tok, err := pki.ParseToken(v.RawToken); err == nil && tok.CAHash != "" {
				ca := data["ServerCA"]
				h, err := pki.HashCA(ca.Content, ca.Timestamp)
				if err != nil {
					t.Fatalf("HashCA: %v", err)
				}
				if h.Hex != tok.CAHash {
					t.Errorf("token CA hash %s, hashCA(ServerCA) = %s", tok.CAHash, h.Hex)
				}
			}
		})
	}
}

func TestKATDeterministic(t *testing.T) {
	for _, v := range loadKAT(t) {
		if v.Salt == "" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			key, err := deriveKey(v.Passphrase, v.Salt)
			if err != nil || hex.EncodeToString(key) != v.KeyHex {
				t.Errorf("key = %x (%v), want %s", key, err, v.KeyHex)
			}
			nonce, _ := hex.DecodeString(v.NonceHex)
			got, err := encryptWith(v.Passphrase, v.Salt, nonce, []byte(v.Plaintext))
			if err != nil || string(got) != v.Ciphertext {
				t.Errorf("encryptWith = %s (%v)\nwant %s", got, err, v.Ciphertext)
			}
		})
	}
}

func TestSpec101Vector(t *testing.T) {
	const want = "0001020304050607:AAECAwQFBgcICQoLV7zybVr5X551rkwtafaHRKXEmZ5xDv6xQGRwDIFQ1kUJBjyzWR8NqTSiNc7WIuIpocTcfAE8U7kD2O7/LsY2GS6rZVAUM4mXmUaU0CuL10GQQnWzP7Sa"
	nonce, _ := hex.DecodeString("000102030405060708090a0b")
	plain, err := Bootstrap{"ServerCA": {Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Content: []byte("hello")}}.Encode()
	if err != nil || len(plain) != 71 {
		t.Fatalf("plaintext %q (%v), want 71 bytes", plain, err)
	}
	got, err := encryptWith("mysecret", "0001020304050607", nonce, plain)
	if err != nil || string(got) != want {
		t.Fatalf("got %s (%v)", got, err)
	}
}

// TestEncryptIndependent opens what Encrypt produces without Decrypt: the
// key comes from `openssl kdf`, the AEAD from crypto/cipher directly.
func TestEncryptIndependent(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	plain := []byte(`{"ServerCA":{"Timestamp":"2026-01-01T00:00:00Z","Content":"aGVsbG8="}}` + "\n")
	const pass = "Indep3ndent-pass"
	v1, err := Encrypt(pass, plain)
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := Encrypt(pass, plain)
	if bytes.Equal(v1, v2) {
		t.Error("two encryptions are identical")
	}
	salt, enc, ok := strings.Cut(string(v1), ":")
	if !ok || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(salt) {
		t.Fatalf("salt %q is not 16 lowercase hex chars", salt)
	}
	out, err := exec.Command(openssl, "kdf", "-keylen", "32", "-kdfopt", "digest:SHA1",
		"-kdfopt", "pass:"+pass, "-kdfopt", "salt:"+salt, "-kdfopt", "iter:4096", "PBKDF2").Output()
	if err != nil {
		t.Fatalf("openssl kdf: %v", err)
	}
	key, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(out)), ":", ""))
	if err != nil || len(key) != 32 {
		t.Fatalf("openssl key %q: %v", out, err)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) != NonceSize+len(plain)+TagSize {
		t.Fatalf("sealed length %d (%v)", len(raw), err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	got, err := gcm.Open(nil, raw[:NonceSize], raw[NonceSize:], nil)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("independent open: %q, %v", got, err)
	}
}

func TestDecryptErrors(t *testing.T) {
	good, err := Encrypt("mysecret", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	short := "0001020304050607:" + base64.StdEncoding.EncodeToString(make([]byte, NonceSize+TagSize-1))
	tests := []struct {
		name    string
		pass    string
		value   string
		is      []error
		message string
	}{
		{"wrong passphrase", "wrong", string(good), []error{ErrWrongToken}, "cipher: message authentication failed"},
		{"no colon", "mysecret", "nocolon", []error{ErrNotDelimited, ErrCorruptValue}, "invalid cipher text, not : delimited"},
		{"empty value", "mysecret", "", []error{ErrNotDelimited}, "not : delimited"},
		{"bad base64", "mysecret", "salt:***", []error{ErrCorruptValue}, "illegal base64 data at input byte 0"},
		{"short data", "mysecret", short, []error{ErrCorruptValue}, "27 bytes"},
		{"empty data", "mysecret", "salt:", []error{ErrCorruptValue}, "0 bytes"},
		{"tampered tag", "mysecret", string(good[:len(good)-4]) + "AAA=", []error{ErrWrongToken}, "authentication failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decrypt(tc.pass, []byte(tc.value))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.is {
				if !errors.Is(err, want) {
					t.Errorf("%v is not %v", err, want)
				}
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("%q lacks %q", err, tc.message)
			}
			if strings.Contains(err.Error(), tc.pass) && tc.pass != "" && tc.name != "wrong passphrase" {
				t.Errorf("error reveals the passphrase: %q", err)
			}
		})
	}
}

func TestStorageKeyAndPassphrase(t *testing.T) {
	keys := []struct{ pass, want string }{
		{"", "/bootstrap/e3b0c44298fc"},
		{"mysecret", "/bootstrap/652c7dc687d9"},
		{"abc", "/bootstrap/ba7816bf8f01"},
	}
	for _, k := range keys {
		if got := StorageKey(k.pass); got != k.want {
			t.Errorf("StorageKey(%q) = %s, want %s", k.pass, got, k.want)
		}
	}
	toks := []struct{ raw, want string }{
		{"mysecret", "mysecret"},
		{"K10" + strings.Repeat("a", 64) + "::server:secret-password", "secret-password"},
		{"foo:bar", "foo:bar"},
		{"K10" + strings.Repeat("b", 64) + "::server:a:b", "a:b"},
		{"abcdef.0123456789abcdef", ""},
		{"K10::x", ""},
		{"", ""},
	}
	for _, tc := range toks {
		got, err := PassphraseFromToken(tc.raw)
		if tc.want == "" {
			if !errors.Is(err, pki.ErrTokenNormalize) {
				t.Errorf("PassphraseFromToken(%q) = %q, %v; want ErrTokenNormalize", tc.raw, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PassphraseFromToken(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}
