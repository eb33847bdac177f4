package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// OpenRC controls services through rc-service, as on Alpine. k3s's install
// script names its OpenRC services like its systemd units: k3s and
// k3s-agent.
type OpenRC struct{}

// IsActive implements ServiceManager: `rc-service UNIT status` exits 0 only
// when the service is started (3 when stopped, other codes when crashed or
// unknown, all of which count as not running).
func (OpenRC) IsActive(ctx context.Context, unit string) (bool, error) {
	if _, err := exec.LookPath("rc-service"); err != nil {
		return false, ErrNoServiceManager
	}
	err := exec.CommandContext(ctx, "rc-service", unit, "status").Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rc-service %s status: %w", unit, err)
	}
	return true, nil
}

// Stop implements ServiceManager: rc-service stop returns when the
// service's stop function (start-stop-daemon or supervise-daemon) is done.
func (OpenRC) Stop(ctx context.Context, unit string) error { return rcService(ctx, unit, "stop") }

// Start implements ServiceManager. Unlike systemd's Type=notify, OpenRC
// returns once the daemon is launched, not when k3s is ready.
func (OpenRC) Start(ctx context.Context, unit string) error { return rcService(ctx, unit, "start") }

// Name implements ServiceManager.
func (OpenRC) Name() string { return "openrc" }

// Command implements Commander: `rc-service UNIT VERB`.
func (OpenRC) Command(verb, unit string) string { return "rc-service " + unit + " " + verb }

func rcService(ctx context.Context, unit, verb string) error {
	if _, err := exec.LookPath("rc-service"); err != nil {
		return ErrNoServiceManager
	}
	out, err := exec.CommandContext(ctx, "rc-service", unit, verb).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rc-service %s %s: %w: %s", unit, verb, err, bytes.TrimSpace(out))
	}
	return nil
}
