package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/pki"
)

// ServiceManager queries the k3s unit. Production uses systemd; tests use a
// fake, since systemd cannot run here.
type ServiceManager interface {
	// IsActive reports whether unit is running.
	IsActive(ctx context.Context, unit string) (bool, error)
}

// ErrNoServiceManager means systemctl is not available on this machine.
var ErrNoServiceManager = errors.New("systemctl not found: cannot query or control the k3s service")

// Systemd controls units through systemctl.
type Systemd struct{}

// IsActive implements ServiceManager.
func (Systemd) IsActive(ctx context.Context, unit string) (bool, error) {
	if _, err := exec.LookPath("systemctl"); err != nil {
		return false, ErrNoServiceManager
	}
	err := exec.CommandContext(ctx, "systemctl", "is-active", "--quiet", unit).Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("systemctl is-active %s: %w", unit, err)
	}
	return true, nil
}

// kineSocketLive reports whether something accepts connections on the
// server's kine socket, which means k3s (or kine) is running on it.
func kineSocketLive(serverDir string) bool {
	c, err := net.DialTimeout("unix", filepath.Join(serverDir, pki.KineSocket), 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
