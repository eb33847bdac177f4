package pki

import (
	"errors"
	"regexp"
	"strings"
	"sync"
)

// TokenPrefix starts every full k3s token.
const TokenPrefix = "K10"

// k3s's token error strings (clientaccess.parseToken, util.NormalizeToken).
const (
	msgTokenEmpty      = "token must not be empty"
	msgTokenHashLength = "invalid token CA hash length"
	msgTokenFormat     = "invalid token format"
	msgNormalize       = "failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>"
)

// Token errors; their messages are k3s's own.
var (
	ErrTokenEmpty      = errors.New(msgTokenEmpty)
	ErrTokenHashLength = errors.New(msgTokenHashLength)
	ErrTokenFormat     = errors.New(msgTokenFormat)
	ErrTokenNormalize  = errors.New(msgNormalize)
)

// hashHexLen is the length of a CA hash: hex of a SHA-256 digest.
const hashHexLen = 64

var bootstrapTokenRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`) })

// Token is a parsed k3s join token.
type Token struct {
	// CAHash is the 64-char CA hash, or empty when the token carries none.
	CAHash string
	// Username is the basic-auth user ("server", "node" or empty).
	Username string
	// Password is the basic-auth password; empty for a bootstrap token.
	Password string
	// BootstrapToken is a kubeadm-style "abcdef.0123456789abcdef" credential.
	BootstrapToken string
}

// ParseToken parses a token exactly as k3s's clientaccess.parseToken does.
func ParseToken(s string) (Token, error) {
	if s == "" {
		return Token{}, ErrTokenEmpty
	}
	if !strings.HasPrefix(s, TokenPrefix) {
		if bootstrapTokenRe().MatchString(s) {
			s = TokenPrefix + "::" + s
		} else {
			s = TokenPrefix + ":::" + s
		}
	}
	rest := s[len(TokenPrefix):]
	var t Token
	creds := rest
	if hash, after, found := strings.Cut(rest, "::"); found {
		if len(hash) != 0 && len(hash) != hashHexLen {
			return Token{}, ErrTokenHashLength
		}
		t.CAHash, creds = hash, after
	}
	if bootstrapTokenRe().MatchString(creds) {
		t.BootstrapToken = creds
		return t, nil
	}
	user, pass, ok := strings.Cut(creds, ":")
	if !ok || pass == "" {
		return Token{}, ErrTokenFormat
	}
	t.Username, t.Password = user, pass
	return t, nil
}

// NormalizeToken returns the password part of a token: the passphrase of the
// bootstrap data and the input of its storage key (k3s util.NormalizeToken).
func NormalizeToken(s string) (string, error) {
	t, err := ParseToken(s)
	if err != nil || t.BootstrapToken != "" {
		return "", ErrTokenNormalize
	}
	return t.Password, nil
}

// FormatToken builds "K10<hash>::<creds>", the way k3s writes server/token.
func FormatToken(caHash, creds string) string {
	return TokenPrefix + caHash + "::" + creds
}

// Creds is the credential part of the token: "user:password" or the bootstrap token.
func (t Token) Creds() string {
	if t.BootstrapToken != "" {
		return t.BootstrapToken
	}
	return t.Username + ":" + t.Password
}

// String is the full token, secret included.
func (t Token) String() string { return FormatToken(t.CAHash, t.Creds()) }

// Masked is the token with its secret replaced by asterisks, safe to show.
func (t Token) Masked() string {
	if t.BootstrapToken != "" {
		id, _, _ := strings.Cut(t.BootstrapToken, ".")
		return FormatToken(t.CAHash, id+".****************")
	}
	return FormatToken(t.CAHash, t.Username+":********")
}

// WithCAHash returns the same credentials bound to another CA hash.
func (t Token) WithCAHash(hash string) Token {
	t.CAHash = hash
	return t
}
