package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"
)

// HashMethod tells which rule of k3s's hashCA produced a CA hash.
type HashMethod string

const (
	// HashFileBytes is SHA-256 over the raw file: one cert, or the silent fallback.
	HashFileBytes HashMethod = "file-bytes"
	// HashChainRoot is SHA-256 over the DER of the verified chain's root.
	HashChainRoot HashMethod = "chain-root"
	// HashFallback is the file-bytes hash of a bundle whose chain did not verify.
	HashFallback HashMethod = "fallback"
)

// CAHash is the result of hashing a CA bundle the way k3s does.
type CAHash struct {
	// Hex is 64 lowercase hex characters, the value after "K10" in a token.
	Hex string
	// Method is the rule that produced Hex.
	Method HashMethod
	// Root is the chain root that was hashed, for HashChainRoot.
	Root *x509.Certificate
	// VerifyErr is why the chain did not verify, for HashFallback.
	VerifyErr error
}

// HashCA computes the join-token CA hash of a CA bundle exactly as k3s's
// clientaccess.hashCA does, with now as the verification time.
func HashCA(bundle []byte, now time.Time) (CAHash, error) {
	certs, err := ParseCertsPEM(bundle)
	if err != nil {
		return CAHash{}, fmt.Errorf("hash CA bundle: %w", err)
	}
	if len(certs) == 1 {
		return CAHash{Hex: hashBytes(bundle), Method: HashFileBytes}, nil
	}
	roots := x509.NewCertPool()
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		if len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
			roots.AddCert(c)
		} else {
			intermediates.AddCert(c)
		}
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now})
	if err != nil {
		return CAHash{Hex: hashBytes(bundle), Method: HashFallback, VerifyErr: err}, nil
	}
	root := chains[0][len(chains[0])-1]
	return CAHash{Hex: hashBytes(root.Raw), Method: HashChainRoot, Root: root}, nil
}

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
