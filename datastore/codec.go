package datastore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/pki"
)

// Parameters of k3s's bootstrap encryption (pkg/cluster/encrypt.go, spec §3).
const (
	// KDFIterations is the PBKDF2-HMAC-SHA1 round count.
	KDFIterations = 4096
	// KeyLen is the AES-256 key length derived by PBKDF2.
	KeyLen = 32
	// SaltBytes is the number of random bytes behind the 16-hex-char salt text.
	SaltBytes = 8
	// NonceSize is the AES-GCM standard nonce length.
	NonceSize = 12
	// TagSize is the AES-GCM authentication tag length.
	TagSize = 16
	// storageHashLen is the number of hex characters of the storage key hash.
	storageHashLen = 12
)

// k3s's own decrypt error texts.
const (
	msgNotDelimited = "invalid cipher text, not : delimited"
)

// Codec errors. A UI explains ErrWrongToken as "the token does not open this
// value" and ErrCorruptValue as "the stored value is not a k3s ciphertext".
var (
	// ErrWrongToken wraps GCM's "cipher: message authentication failed":
	// the passphrase is not the one the value was encrypted with (or the
	// value was altered).
	ErrWrongToken = errors.New("wrong token: the bootstrap data cannot be decrypted with this passphrase")
	// ErrCorruptValue marks a value that is not salt ":" base64(nonce|ct|tag).
	ErrCorruptValue = errors.New("corrupt bootstrap value")
	// ErrNotDelimited is k3s's error for a value without ":".
	ErrNotDelimited = errors.New(msgNotDelimited)
)

// StorageKey is the datastore key of the bootstrap data for a normalized
// passphrase: "/bootstrap/" + the first 12 lowercase hex characters of its
// SHA-256 (k3s storageKey / util.ShortHash).
func StorageKey(passphrase string) string {
	sum := sha256.Sum256([]byte(passphrase))
	return BootstrapPrefix + "/" + hex.EncodeToString(sum[:])[:storageHashLen]
}

// PassphraseFromToken returns the passphrase of a raw token (a full
// K10 token or a bare password) exactly as k3s's util.NormalizeToken does.
func PassphraseFromToken(raw string) (string, error) {
	p, err := pki.NormalizeToken(raw)
	if err != nil {
		return "", fmt.Errorf("passphrase from token: %w", err)
	}
	return p, nil
}

// deriveKey runs PBKDF2-HMAC-SHA1 over the passphrase with the salt TEXT
// (the 16 hex characters themselves, not their decoded bytes).
func deriveKey(passphrase, salt string) ([]byte, error) {
	key, err := pbkdf2.Key(sha1.New, passphrase, []byte(salt), KDFIterations, KeyLen)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	return key, nil
}

func newGCM(passphrase, salt string) (cipher.AEAD, error) {
	key, err := deriveKey(passphrase, salt)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return gcm, nil
}

// Encrypt seals plaintext the way k3s stores bootstrap data: a fresh salt
// (8 random bytes as 16 lowercase hex characters, used as text), PBKDF2-
// HMAC-SHA1 4096 rounds to a 32-byte key, AES-256-GCM with a random 12-byte
// nonce and no additional data. The result is
// salt ":" base64std(nonce | ciphertext | tag).
func Encrypt(passphrase string, plaintext []byte) ([]byte, error) {
	var raw [SaltBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("encrypt: salt: %w", err)
	}
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encrypt: nonce: %w", err)
	}
	return encryptWith(passphrase, hex.EncodeToString(raw[:]), nonce, plaintext)
}

// EncryptedSize is the length of Encrypt's output for a plaintext of n bytes.
func EncryptedSize(n int) int {
	return 2*SaltBytes + 1 + base64.StdEncoding.EncodedLen(NonceSize+n+16)
}

// encryptWith is Encrypt with a given salt text and nonce, for known-answer tests.
func encryptWith(passphrase, salt string, nonce, plaintext []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("encrypt: nonce is %d bytes, want %d", len(nonce), NonceSize)
	}
	gcm, err := newGCM(passphrase, salt)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	sealed := gcm.Seal(append([]byte(nil), nonce...), nonce, plaintext, nil)
	out := make([]byte, 0, len(salt)+1+base64.StdEncoding.EncodedLen(len(sealed)))
	out = append(out, salt...)
	out = append(out, ':')
	return base64.StdEncoding.AppendEncode(out, sealed), nil
}

// Decrypt opens a value written by k3s (or Encrypt). Errors follow k3s:
// no ":" gives "invalid cipher text, not : delimited" (ErrNotDelimited and
// ErrCorruptValue), bad base64 gives the base64 error (ErrCorruptValue), and
// a wrong passphrase gives "cipher: message authentication failed" wrapped in
// ErrWrongToken. Data shorter than nonce plus tag is an ErrCorruptValue
// error, where k3s would panic. The salt part is not validated, as in k3s.
func Decrypt(passphrase string, value []byte) ([]byte, error) {
	salt, enc, ok := strings.Cut(string(value), ":")
	if !ok {
		return nil, fmt.Errorf("decrypt: %w (%w)", ErrNotDelimited, ErrCorruptValue)
	}
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w: %w", ErrCorruptValue, err)
	}
	if len(data) < NonceSize+TagSize {
		return nil, fmt.Errorf("decrypt: %w: %d bytes of sealed data, need at least %d", ErrCorruptValue, len(data), NonceSize+TagSize)
	}
	gcm, err := newGCM(passphrase, salt)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	plain, err := gcm.Open(nil, data[:NonceSize], data[NonceSize:], nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w: %w", ErrWrongToken, err)
	}
	return plain, nil
}
