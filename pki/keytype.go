package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// KeyType names a private key algorithm k3sca can generate.
type KeyType string

// Key types. ECDSA P-256 is what k3s and its contrib scripts use for CAs.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyECDSAP384 KeyType = "ecdsa-p384"
	KeyRSA2048   KeyType = "rsa-2048"
	KeyRSA3072   KeyType = "rsa-3072"
	KeyRSA4096   KeyType = "rsa-4096"
	KeyEd25519   KeyType = "ed25519"
)

// DefaultKeyType is the key type of CA keys when none is chosen.
const DefaultKeyType = KeyECDSAP256

// KeyTypes lists every supported key type, default first.
var KeyTypes = []KeyType{KeyECDSAP256, KeyECDSAP384, KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyEd25519}

// ErrUnknownKeyType is returned for a key type name that is not in KeyTypes.
var ErrUnknownKeyType = errors.New("unknown key type")

// ParseKeyType returns the key type named s; the empty string means DefaultKeyType.
func ParseKeyType(s string) (KeyType, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return DefaultKeyType, nil
	}
	for _, k := range KeyTypes {
		if string(k) == name {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w %q: want one of %s", ErrUnknownKeyType, s, keyTypeList())
}

func keyTypeList() string {
	names := make([]string, len(KeyTypes))
	for i, k := range KeyTypes {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// String implements fmt.Stringer.
func (k KeyType) String() string { return string(k) }

// Generate makes a new private key of this type. r nil means crypto/rand.
// Since Go 1.26 the standard library ignores r for ECDSA keys unless
// GODEBUG=cryptocustomrand=1, and RSA primes always come from crypto/rand
// (see primePool), so keys are never reproducible from r.
func (k KeyType) Generate(r io.Reader) (crypto.Signer, error) {
	return k.generate(context.Background(), r, nil)
}

// generate makes a key of type k. The primes of an RSA key are searched by
// pool, nil meaning a pool of its own with GOMAXPROCS workers; a cancelled
// ctx stops that search and returns ctx.Err(). r nil means crypto/rand.
func (k KeyType) generate(ctx context.Context, r io.Reader, pool *primePool) (crypto.Signer, error) {
	if r == nil {
		r = rand.Reader
	}
	var (
		key crypto.Signer
		err error
	)
	switch k {
	case KeyECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), r)
	case KeyECDSAP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), r)
	case KeyRSA2048, KeyRSA3072, KeyRSA4096:
		if pool == nil {
			pool = newPrimePool(runtime.GOMAXPROCS(0))
		}
		key, err = pool.rsaKey(ctx, k.rsaBits())
	case KeyEd25519:
		_, key, err = ed25519.GenerateKey(r)
	default:
		return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownKeyType, string(k), keyTypeList())
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", k, err)
	}
	return key, nil
}

func (k KeyType) rsaBits() int {
	switch k {
	case KeyRSA3072:
		return 3072
	case KeyRSA4096:
		return 4096
	}
	return 2048
}

// KeyTypeOf names the type of an existing key, or "" when it is not one of KeyTypes.
func KeyTypeOf(k crypto.PublicKey) KeyType {
	switch key := k.(type) {
	case *ecdsa.PublicKey:
		switch key.Curve {
		case elliptic.P256():
			return KeyECDSAP256
		case elliptic.P384():
			return KeyECDSAP384
		}
	case *rsa.PublicKey:
		switch key.N.BitLen() {
		case 2048:
			return KeyRSA2048
		case 3072:
			return KeyRSA3072
		case 4096:
			return KeyRSA4096
		}
	case ed25519.PublicKey:
		return KeyEd25519
	}
	return ""
}
