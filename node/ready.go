package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
)

// ErrNotReady means k3s did not serve the expected CA within the bound.
var ErrNotReady = errors.New("k3s did not become ready")

// readyPoll is the interval between readiness probes.
var readyPoll = time.Second

// WaitReady waits until the supervisor at url serves /cacerts whose CA hash
// is wantHash and whose serving certificate chains to that bundle (what a
// joining node checks, spec §1.4), or until timeout. It returns the last
// probe's error wrapped in ErrNotReady.
func WaitReady(ctx context.Context, url, wantHash string, timeout time.Duration, now func() time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		api := &datastore.ServerAPI{URL: url, Token: pki.Token{CAHash: wantHash}, Now: now, Timeout: 5 * time.Second}
		_, err := api.FetchCACerts(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w within %s: %s/cacerts: %w", ErrNotReady, timeout, url, err)
		case <-time.After(readyPoll):
		}
	}
}
