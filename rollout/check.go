package rollout

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
)

// ServerCheck is the check of a server: its supervisor at url serves
// /cacerts hashing to the new CA hash, and its serving certificate chains
// to that bundle (what a joining node checks).
func ServerCheck(url string, now func() time.Time) Check {
	return func(ctx context.Context, want Want) error {
		api := &datastore.ServerAPI{URL: url, Token: pki.Token{CAHash: want.Hash}, Now: now, Timeout: 5 * time.Second}
		bundle, err := api.FetchCACerts(ctx)
		if err != nil {
			return fmt.Errorf("%s/cacerts: %w", url, err)
		}
		if want.CA != nil && !bytes.Equal(bundle, want.CA) {
			return fmt.Errorf("%s/cacerts serves another CA bundle with the same hash: it still runs on the old CA files", url)
		}
		return nil
	}
}

// AgentCheck is the check of an agent: its service runs and the server CA
// it took at its last start (<data-dir>/agent/server-ca.crt) hashes to the
// new CA hash.
func AgentCheck(h Host, svc Service, dataDir string, now func() time.Time) Check {
	return func(ctx context.Context, want Want) error {
		active, err := svc.IsActive(ctx)
		if err != nil {
			return err
		}
		if !active {
			return fmt.Errorf("the agent service is not running")
		}
		file := path.Join(dataDir, "agent", "server-ca.crt")
		b, err := h.ReadFile(ctx, file)
		if err != nil {
			return err
		}
		got, err := pki.HashCA(b, now())
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if got.Hex != want.Hash {
			return fmt.Errorf("%s hashes to %s, not the new %s", file, got.Hex, want.Hash)
		}
		if want.CA != nil && !bytes.Equal(b, want.CA) {
			return fmt.Errorf("%s is another bundle with the same hash: the agent has not restarted since the rotation", file)
		}
		return nil
	}
}
