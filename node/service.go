package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/fsutil"
)

// ServiceManager queries and controls the k3s unit. Production uses systemd
// or OpenRC; tests and sandboxes use a fake, since neither runs here.
type ServiceManager interface {
	// IsActive reports whether unit is running.
	IsActive(ctx context.Context, unit string) (bool, error)
	// Stop stops unit and returns when it has stopped.
	Stop(ctx context.Context, unit string) error
	// Start starts unit and returns when the init system reports it started.
	Start(ctx context.Context, unit string) error
	// Name names the init system for the operator: "systemd", "openrc",
	// "sandbox".
	Name() string
}

// SupervisorLocator is implemented by service managers whose started
// server can be probed over HTTPS: after a start the restart step waits
// until /cacerts there hashes to the expected CA hash and the serving
// certificate chains to it. ok false: nothing to probe (a fake); url "":
// the node's own supervisor at Env.ServerURL (https://127.0.0.1:6443).
type SupervisorLocator interface {
	SupervisorURL(unit string) (url string, ok bool)
}

// SupervisorURL implements SupervisorLocator: the node's own supervisor.
func (Systemd) SupervisorURL(string) (string, bool) { return "", true }

// SupervisorURL implements SupervisorLocator: the node's own supervisor.
func (OpenRC) SupervisorURL(string) (string, bool) { return "", true }

// Commander is implemented by service managers that name the shell command
// an operator runs to act on a unit, for the lines k3sca prints to copy.
type Commander interface {
	// Command is the command that does verb ("start", "restart") to unit.
	Command(verb, unit string) string
}

// ProgramLocator is implemented by a service manager that knows the
// program its unit runs without unit files: the sandbox's, whose
// simulated k3s binary lives in its data dir.
type ProgramLocator interface {
	UnitProgram(ctx context.Context, unit string) (program, source string, err error)
}

// ErrNoServiceManager means neither systemd's systemctl nor OpenRC's
// rc-service is available on this machine.
var ErrNoServiceManager = errors.New("no service manager found (neither systemctl nor rc-service): cannot query or control the k3s service")

// DetectServices picks this machine's service manager: systemd when it runs
// (/run/systemd/system exists), OpenRC when rc-service is on PATH, else
// Systemd, whose calls then fail with ErrNoServiceManager. A sandbox data
// dir has its own service manager, which the CLI picks (IsSandbox).
func DetectServices() ServiceManager {
	return detectServices("/", exec.LookPath)
}

// detectServices is DetectServices with the file-system root and the PATH
// lookup injected, for tests.
func detectServices(root string, lookPath func(string) (string, error)) ServiceManager {
	if fsutil.DirExists(filepath.Join(root, "run", "systemd", "system")) {
		return Systemd{}
	}
	if _, err := lookPath("rc-service"); err == nil {
		return OpenRC{}
	}
	return Systemd{}
}

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

// Stop implements ServiceManager: systemctl stop waits for the unit to stop.
func (Systemd) Stop(ctx context.Context, unit string) error { return systemctl(ctx, "stop", unit) }

// Start implements ServiceManager with `systemctl start --no-block`: k3s's
// unit is Type=notify with TimeoutStartSec=0, so a blocking start of a k3s
// that never becomes ready would wait for ever. The restart step then waits
// for readiness itself, with a bound (Env.RestartTimeout).
func (Systemd) Start(ctx context.Context, unit string) error {
	return systemctl(ctx, "start", "--no-block", unit)
}

// Name implements ServiceManager.
func (Systemd) Name() string { return "systemd" }

// Command implements Commander: `systemctl VERB UNIT`.
func (Systemd) Command(verb, unit string) string { return "systemctl " + verb + " " + unit }

func systemctl(ctx context.Context, args ...string) error {
	if _, err := exec.LookPath("systemctl"); err != nil {
		return ErrNoServiceManager
	}
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
