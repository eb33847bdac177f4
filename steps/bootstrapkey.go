package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/product"
)

// Errors of bootstrap key resolution.
var (
	// ErrWrongToken: the token names no key here. It wraps
	// datastore.ErrWrongToken, which a failed decryption returns, so
	// errors.Is(err, datastore.ErrWrongToken) catches both.
	ErrWrongToken       = fmt.Errorf("the token opens no bootstrap key in this datastore: %w", datastore.ErrWrongToken)
	ErrMultipleKeys     = errors.New("more than one live /bootstrap key; k3s refuses to save with several (found multiple bootstrap keys in storage)")
	ErrNoBootstrapData  = errors.New("no bootstrap data in the datastore; has k3s started once on it?")
	ErrBootstrapLocked  = errors.New("the bootstrap key is an empty lock: a server is initializing; wait for it to finish")
	ErrNoTokenAvailable = errors.New("no token: pass --token (or K3SCA_TOKEN), or make <data-dir>/server/token readable")
)

// ResolveToken returns the raw token: the given one, else server/token with
// trailing newlines stripped, as k3s certificate rotate-ca reads it.
func ResolveToken(dataDir, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	raw, err := readTokenFile(product.ServerDir(dataDir))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoTokenAvailable, err)
	}
	if raw == "" {
		return "", ErrNoTokenAvailable
	}
	return raw, nil
}

// ResolvePassphrase returns the raw token (see ResolveToken) and the
// passphrase k3s derives from it.
func ResolvePassphrase(dataDir, given string) (raw, pass string, err error) {
	if raw, err = ResolveToken(dataDir, given); err != nil {
		return "", "", err
	}
	if pass, err = datastore.PassphraseFromToken(raw); err != nil {
		return "", "", err
	}
	return raw, pass, nil
}

// Bootstrap is the current bootstrap value opened with a token.
type Bootstrap struct {
	// KV is the key, its encrypted value and revision.
	KV datastore.KV
	// Plain is the decrypted JSON.
	Plain []byte
	// Data is Plain decoded.
	Data datastore.Bootstrap
	// Keys are all live /bootstrap keys.
	Keys []datastore.KV
}

// ReadBootstrap lists /bootstrap, requires exactly one live key, the one
// this passphrase names, and decrypts it.
func ReadBootstrap(ctx context.Context, b datastore.Backend, passphrase string) (*Bootstrap, error) {
	keys, err := b.List(ctx, datastore.BootstrapPrefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", datastore.BootstrapPrefix, err)
	}
	want := datastore.StorageKey(passphrase)
	var names []string
	var mine *datastore.KV
	for i := range keys {
		names = append(names, keys[i].Key)
		if keys[i].Key == want {
			mine = &keys[i]
		}
	}
	switch {
	case len(keys) == 0:
		return nil, ErrNoBootstrapData
	case mine == nil:
		return nil, fmt.Errorf("%w: it names %s, the datastore holds %s", ErrWrongToken, want, strings.Join(names, ", "))
	case len(keys) > 1:
		return nil, fmt.Errorf("%w: %s", ErrMultipleKeys, strings.Join(names, ", "))
	case len(mine.Value) == 0:
		return nil, ErrBootstrapLocked
	}
	return openBootstrap(*mine, passphrase, keys)
}

// openBootstrap decrypts and decodes one bootstrap value.
func openBootstrap(kv datastore.KV, passphrase string, keys []datastore.KV) (*Bootstrap, error) {
	plain, err := datastore.Decrypt(passphrase, kv.Value)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", kv.Key, err)
	}
	data, err := datastore.DecodeBootstrap(plain)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	return &Bootstrap{KV: kv, Plain: plain, Data: data, Keys: keys}, nil
}
