package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// ErrStagedIsLive means the staged dir given is the live server dir (or
// inside it, or around it): there is nothing staged to compare or load.
var ErrStagedIsLive = errors.New("the staged dir is the live k3s server dir; stage new files elsewhere (k3sca generate --out DIR)")

// CheckStaged refuses a staged dir that is, contains or lies inside the
// live server dir of dataDir.
func CheckStaged(dataDir, staged string) error {
	server := product.ServerDir(dataDir)
	if fsutil.IsWithin(staged, server) || fsutil.IsWithin(server, staged) {
		return fmt.Errorf("--path %s: %w", staged, ErrStagedIsLive)
	}
	return nil
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
