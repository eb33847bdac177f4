package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/k3sca/k3sca/remote"
)

// SystemdService is a unit on a node reached by remote.Node. Restart does
// not block: k3s's unit is Type=notify with TimeoutStartSec=0, so a
// blocking restart could wait for ever; the rollout's check waits instead.
type SystemdService struct {
	Node remote.Node
	Unit string
}

// Restart runs systemctl restart --no-block.
func (s SystemdService) Restart(ctx context.Context) error {
	if _, _, err := s.Node.Run(ctx, []string{"systemctl", "restart", "--no-block", s.Unit}); err != nil {
		return fmt.Errorf("restart %s on %s: %w", s.Unit, s.Node.Endpoint(), err)
	}
	return nil
}

// IsActive runs systemctl is-active (exit 0: active).
func (s SystemdService) IsActive(ctx context.Context) (bool, error) {
	_, _, err := s.Node.Run(ctx, []string{"systemctl", "is-active", "--quiet", s.Unit})
	var ee *remote.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee):
		return false, nil
	}
	return false, fmt.Errorf("is %s active on %s: %w", s.Unit, s.Node.Endpoint(), err)
}
