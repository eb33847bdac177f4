package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// ErrStagedIsLive means the staged dir given is the live server dir (or
// inside it, or around it): there is nothing staged to compare or load.
var ErrStagedIsLive = errors.New("the staged dir is the live k3s server dir; stage new files elsewhere (k3sca generate --out DIR)")

// ErrNoStagedTLS means the staged dir holds no tls/ dir: k3s would find
// nothing in it and call the set unchanged.
var ErrNoStagedTLS = errors.New("no tls/ dir in the staged dir")

// CheckStaged refuses a staged dir that is, contains or lies inside the
// live server dir of dataDir, and one without a tls/ dir (the layout
// `k3s certificate rotate-ca --path` reads): given the tls/ dir itself, it
// names its parent. k3s takes such a dir as "no change"; k3sca refuses it,
// since nothing was staged.
func CheckStaged(dataDir, staged string) error {
	server := product.ServerDir(dataDir)
	if fsutil.IsWithin(staged, server) || fsutil.IsWithin(server, staged) {
		return fmt.Errorf("--path %s: %w", staged, ErrStagedIsLive)
	}
	fi, err := os.Stat(staged)
	if err != nil {
		return fmt.Errorf("staged dir %s: %w", staged, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("staged dir %s is not a directory", staged)
	}
	if fi, err := os.Stat(filepath.Join(staged, pki.TLSDir)); err == nil && fi.IsDir() {
		return nil
	}
	if filepath.Base(filepath.Clean(staged)) == pki.TLSDir {
		return fmt.Errorf("%w: %s is the tls/ dir itself; give its parent: %s", ErrNoStagedTLS, staged, filepath.Dir(filepath.Clean(staged)))
	}
	return fmt.Errorf("%w: %s has no tls/ subdir; a staged dir holds tls/server-ca.crt and the rest (k3sca generate --out DIR writes one)", ErrNoStagedTLS, staged)
}

// Validate checks a staged dir against the live data dir with the engine's
// k3s-exact rules, after refusing the live dir itself as staged dir.
func Validate(ctx context.Context, p product.Product, dataDir, staged string, force bool, now time.Time) (*pki.Report, error) {
	if err := CheckStaged(dataDir, staged); err != nil {
		return nil, err
	}
	return pki.Validate(ctx, pki.ValidateInput{
		CurrentDir: product.ServerDir(dataDir), StagedDir: staged, Now: now, Force: force, Product: p,
	})
}
