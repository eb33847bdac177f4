package rollout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/remote"
)

// regenerateTrigger is the file a server needs before the restart that
// takes the new CA: <data-dir>/server/tls/dynamic-cert-regenerate, which
// makes its supervisor listener on 6443 issue its serving certificate again
// from the new server CA (k3s's rotate-ca leaves it only on the server it
// ran on). Without it the listener keeps the certificate cached in
// dynamic-cert.json, signed by the old server CA, and a server whose CA got
// a new root never comes back (k3s's own /cacerts check fails for ever).
// It is "" for a node that is not a server or needs no restart.
func regenerateTrigger(m Member, probe *cluster.ProbeResult, shows error) string {
	if m.Node.Role.Value != cluster.RoleServer || shows == nil {
		return ""
	}
	return path.Join(probe.DataDir.Value, "server", pki.DynamicCertRegenerate)
}

// writeRegenerateTrigger creates the empty trigger p (0600) on h unless it
// is there already (left by a load on this server, or a run before).
func writeRegenerateTrigger(ctx context.Context, h Host, p string, now time.Time) error {
	_, err := h.ReadFile(ctx, p)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("read %s: %w", p, err)
	}
	if _, err := h.WriteFile(ctx, p, nil, remote.WriteOptions{Now: now, Mode: 0o600}); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
