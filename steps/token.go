package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// TokenState is a CA hash and, when the server token is readable, the join
// token bound to it.
type TokenState struct {
	// Hash is the CA hash of the server CA bundle.
	Hash pki.CAHash
	// Token is the parsed server token re-bound to Hash; nil when unknown.
	Token *pki.Token
	// Source is the server CA file that was hashed.
	Source string
}

// TokenReport holds the current token state and, for a staged dir, the new one.
type TokenReport struct {
	// Current is the state of the live data dir.
	Current TokenState
	// New is the state after loading the staged dir; nil without one.
	New *TokenState
}

// ReadServerToken reads and parses <server>/token (see readTokenFile).
func ReadServerToken(serverDir string) (pki.Token, error) {
	raw, err := readTokenFile(serverDir)
	if err != nil {
		return pki.Token{}, err
	}
	t, err := pki.ParseToken(raw)
	if err != nil {
		return pki.Token{}, fmt.Errorf("parse server token: %w", err)
	}
	return t, nil
}

// readTokenFile reads <server>/token the way `k3s certificate rotate-ca`
// does: trailing newlines stripped.
func readTokenFile(serverDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(serverDir, pki.TokenFile))
	if err != nil {
		return "", fmt.Errorf("read server token: %w", err)
	}
	return string(bytes.TrimRight(b, "\n")), nil
}

// Tokens computes the current CA hash and token of dataDir and, when
// staged is set, the ones k3s will use after the staged set is loaded.
func Tokens(ctx context.Context, dataDir, staged string, now time.Time) (*TokenReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	server := product.ServerDir(dataDir)
	f, _ := pki.Field("ServerCA")
	tok, err := ReadServerToken(server)
	var tp *pki.Token
	if err == nil {
		tp = &tok
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	cur, err := hashState(f.Abs(server), tp, now)
	if err != nil {
		return nil, err
	}
	rep := &TokenReport{Current: cur}
	if staged != "" {
		src := f.Abs(staged)
		if fi, err := os.Stat(src); err != nil || fi.Size() == 0 {
			src = f.Abs(server)
		}
		st, err := hashState(src, tp, now)
		if err != nil {
			return nil, err
		}
		rep.New = &st
	}
	return rep, nil
}

func hashState(path string, tok *pki.Token, now time.Time) (TokenState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return TokenState{}, fmt.Errorf("read server CA: %w", err)
	}
	h, err := pki.HashCA(b, now)
	if err != nil {
		return TokenState{}, fmt.Errorf("%s: %w", path, err)
	}
	st := TokenState{Hash: h, Source: path}
	if tok != nil {
		t := tok.WithCAHash(h.Hex)
		st.Token = &t
	}
	return st, nil
}
