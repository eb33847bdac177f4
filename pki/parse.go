package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// PEM block types.
const (
	BlockCertificate = "CERTIFICATE"
	BlockRSAKey      = "RSA PRIVATE KEY"
	BlockECKey       = "EC PRIVATE KEY"
	BlockPKCS8Key    = "PRIVATE KEY"
	blockEncrypted   = "ENCRYPTED PRIVATE KEY"
	blockECParams    = "EC PARAMETERS"
)

// Parsing errors, wrapped with the file and block that caused them.
var (
	ErrNoCertificates = errors.New("data does not contain any valid RSA or ECDSA certificates")
	ErrNoPublicKeys   = errors.New("data does not contain any valid RSA or ECDSA public keys")
	ErrNoPEM          = errors.New("no PEM data found")
	ErrTruncatedPEM   = errors.New("truncated or malformed PEM block")
	ErrEncryptedKey   = errors.New("private key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)")
	ErrNotAKey        = errors.New("PEM block is not a private key")
	ErrBadKey         = errors.New("private key cannot be parsed")
	ErrNoPrivateKey   = errors.New("no private key found")
)

// ParseCertsPEM reads a CA bundle exactly as k3s does (dynamiclistener
// cert.ParseCertsPEM): only CERTIFICATE blocks without PEM headers count,
// other text and blocks are skipped, the first unparsable certificate is an error.
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != BlockCertificate || len(block.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return certs, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return certs, ErrNoCertificates
	}
	return certs, nil
}

// CertsFromFile reads a CA bundle file as k3s does, with k3s's error text.
func CertsFromFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %s", path, err)
	}
	return certs, nil
}

// ParseBundle is the strict reader for files an operator imports: like
// ParseCertsPEM, but a truncated PEM block is an error instead of being ignored.
func ParseBundle(data []byte) ([]*x509.Certificate, error) {
	if hasTruncatedBlock(data) {
		return nil, ErrTruncatedPEM
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, err
	}
	return certs, nil
}

// hasTruncatedBlock reports whether data holds a BEGIN line that pem.Decode
// could not turn into a block.
func hasTruncatedBlock(data []byte) bool {
	begins := bytes.Count(data, []byte("-----BEGIN "))
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		n++
	}
	return n < begins
}

// ParsePublicKeysPEM returns the public keys of every RSA or ECDSA key (private
// or public) or certificate in data, as k8s keyutil.ParsePublicKeysPEM does for
// k3s's service-key check. Ed25519 and PKCS#8 ECDSA keys are not recognized.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if k := k8sPublicKey(block.Bytes); k != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, ErrNoPublicKeys
	}
	return keys, nil
}

func k8sPublicKey(der []byte) crypto.PublicKey {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return &k.PublicKey
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return &rk.PublicKey
		}
	}
	pub := pkixOrCertKey(der)
	if rk, ok := pub.(*rsa.PublicKey); ok {
		return rk
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return &k.PublicKey
	}
	if ek, ok := pub.(*ecdsa.PublicKey); ok {
		return ek
	}
	return nil
}

func pkixOrCertKey(der []byte) crypto.PublicKey {
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		return k
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		return c.PublicKey
	}
	return nil
}

// PublicKeysFromFile reads public keys as keyutil.PublicKeysFromFile does, with its error text.
func PublicKeysFromFile(path string) ([]crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParsePublicKeysPEM(data)
	if err != nil {
		return nil, fmt.Errorf("error reading public key file %s: %v", path, err)
	}
	return keys, nil
}

// ParsePrivateKeys strictly reads every private key in data, in order: SEC1
// "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" and PKCS#8 "PRIVATE KEY" (ECDSA,
// RSA, Ed25519). "EC PARAMETERS" blocks and text between blocks are skipped.
// Encrypted keys, truncated PEM and blocks that are not keys are errors.
func ParsePrivateKeys(data []byte) ([]crypto.Signer, error) {
	if hasTruncatedBlock(data) {
		return nil, ErrTruncatedPEM
	}
	var keys []crypto.Signer
	sawPEM := false
	for i := 1; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		sawPEM = true
		if block.Type == blockECParams {
			continue
		}
		k, err := parseKeyBlock(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", i, block.Type, err)
		}
		keys = append(keys, k)
	}
	if !sawPEM {
		return nil, ErrNoPEM
	}
	if len(keys) == 0 {
		return nil, ErrNoPrivateKey
	}
	return keys, nil
}

func parseKeyBlock(block *pem.Block) (crypto.Signer, error) {
	if block.Type == blockEncrypted || block.Headers["Proc-Type"] != "" || block.Headers["DEK-Info"] != "" {
		return nil, ErrEncryptedKey
	}
	var (
		k   any
		err error
	)
	switch block.Type {
	case BlockECKey:
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case BlockRSAKey:
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case BlockPKCS8Key:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, ErrNotAKey
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	switch key := k.(type) {
	case *ecdsa.PrivateKey:
		return key, nil
	case *rsa.PrivateKey:
		return key, nil
	case ed25519.PrivateKey:
		return key, nil
	}
	return nil, fmt.Errorf("%w: unsupported key type %T", ErrBadKey, k)
}

// LoadPrivateKeys reads ParsePrivateKeys from a file, naming the file in errors.
func LoadPrivateKeys(path string) ([]crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	keys, err := ParsePrivateKeys(data)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return keys, nil
}

// LoadBundle reads a certificate bundle strictly (ParseBundle), naming the file in errors.
func LoadBundle(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	certs, err := ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	return certs, nil
}

// EncodeKey marshals a private key the way k3s and openssl do by default:
// SEC1 for ECDSA, PKCS#1 for RSA, PKCS#8 for Ed25519.
func EncodeKey(k crypto.Signer) ([]byte, error) {
	switch key := k.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("marshal EC key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: BlockECKey, Bytes: der}), nil
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: BlockRSAKey, Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
	default:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("marshal PKCS#8 key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: BlockPKCS8Key, Bytes: der}), nil
	}
}

// EncodeCert is the PEM of one certificate.
func EncodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: BlockCertificate, Bytes: c.Raw})
}

// PublicKeyEqual reports whether two public keys are the same key.
func PublicKeyEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}
