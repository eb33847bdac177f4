package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/remote"
)

// ServiceState is what a node's service manager says of its k3s service.
type ServiceState string

// Service states, as systemctl is-active prints them (OpenRC's statuses
// mapped onto them).
const (
	// ServiceActive: it runs (systemd active, reloading; OpenRC started).
	ServiceActive ServiceState = "active"
	// ServiceActivating: its manager is starting it (systemd activating,
	// also between the restarts of Restart=always; OpenRC starting, or
	// inactive: started, waiting for what it needs).
	ServiceActivating ServiceState = "activating"
	// ServiceDeactivating: its manager is stopping it (OpenRC stopping).
	ServiceDeactivating ServiceState = "deactivating"
	// ServiceInactive: stopped (systemd inactive; OpenRC stopped).
	ServiceInactive ServiceState = "inactive"
	// ServiceFailed: its last start or run failed (systemd failed;
	// OpenRC crashed).
	ServiceFailed ServiceState = "failed"
	// ServiceUnknown: the manager's answer could not be read.
	ServiceUnknown ServiceState = "unknown"
)

// Stopped says the service was stopped (inactive, or being stopped):
// someone stopped it, and the rollout leaves it stopped.
func (s ServiceState) Stopped() bool { return s == ServiceInactive || s == ServiceDeactivating }

// UnitService is the k3s unit on a node reached by remote.Node, run by the
// service manager the node's files show (cluster.ServiceManagerOf).
//
// systemd: `systemctl restart --no-block <unit>`; its state is what
// `systemctl is-active <unit>` prints (active, activating, inactive,
// failed, …). The restart does not block: k3s's unit is Type=notify with
// TimeoutStartSec=0, so a blocking restart could wait for ever; the
// rollout's check waits instead.
//
// OpenRC: `rc-service <unit> restart` (it returns once the service's start
// returned: k3s's script runs it under supervise-daemon); its state is the
// exit code of `rc-service <unit> status` (openrc-run's: 0 started, 3
// stopped, 4 stopping, 8 starting, 16 inactive, 32 crashed).
type UnitService struct {
	Node    remote.Node
	Unit    string
	Manager cluster.Fact[cluster.ServiceManager]
}

// ServiceCommands are the commands a service is restarted and checked
// with, for the plan and the report.
type ServiceCommands struct {
	// Manager is systemd or openrc; Source the file that says so.
	Manager cluster.ServiceManager `json:"manager"`
	Source  string                 `json:"source"`
	// Restart and Status are the command lines run on the node.
	Restart string `json:"restart"`
	Status  string `json:"status"`
}

// Describer is a Service that says the commands it runs; the report
// carries them (NodeReport.Service).
type Describer interface {
	Commands() ServiceCommands
}

var _ Describer = UnitService{}

// StartCommander is a Service that says the command that starts it: the
// report of a node left stopped names it.
type StartCommander interface {
	StartCommand() string
}

var _ StartCommander = UnitService{}

// StartCommand is `systemctl start <unit>` or `rc-service <unit> start`.
func (s UnitService) StartCommand() string {
	if s.manager() == cluster.ManagerOpenRC {
		return "rc-service " + s.Unit + " start"
	}
	return "systemctl start " + s.Unit
}

func (s UnitService) argv() (restart, status []string) {
	if s.Manager.Value == cluster.ManagerOpenRC {
		return []string{"rc-service", s.Unit, "restart"}, []string{"rc-service", s.Unit, "status"}
	}
	return []string{"systemctl", "restart", "--no-block", s.Unit}, []string{"systemctl", "is-active", s.Unit}
}

// Commands implements Describer.
func (s UnitService) Commands() ServiceCommands {
	restart, status := s.argv()
	return ServiceCommands{Manager: s.manager(), Source: s.Manager.Source,
		Restart: strings.Join(restart, " "), Status: strings.Join(status, " ")}
}

func (s UnitService) manager() cluster.ServiceManager {
	if s.Manager.Value == "" {
		return cluster.ManagerSystemd
	}
	return s.Manager.Value
}

// Restart restarts the unit (see UnitService).
func (s UnitService) Restart(ctx context.Context) error {
	restart, _ := s.argv()
	if _, _, err := s.Node.Run(ctx, restart); err != nil {
		return fmt.Errorf("restart %s on %s (%s): %w", s.Unit, s.Node.Endpoint(), s.manager(), err)
	}
	return nil
}

// IsActive says State is active.
func (s UnitService) IsActive(ctx context.Context) (bool, error) {
	state, err := s.State(ctx)
	return state == ServiceActive, err
}

// State runs the status command and reads its answer (see UnitService);
// an answer it cannot read is ServiceUnknown with an error that says
// what came back.
func (s UnitService) State(ctx context.Context) (ServiceState, error) {
	_, status := s.argv()
	out, _, err := s.Node.Run(ctx, status)
	code := 0
	var ee *remote.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Signal == "" && ee.Code >= 0:
		code = ee.Code
	default:
		return ServiceUnknown, fmt.Errorf("the state of %s on %s (%s): %w", s.Unit, s.Node.Endpoint(), s.manager(), err)
	}
	var state ServiceState
	if s.manager() == cluster.ManagerOpenRC {
		state = openRCState(code)
	} else {
		state = systemdState(strings.TrimSpace(string(out)))
	}
	if state == ServiceUnknown {
		return state, fmt.Errorf("the state of %s on %s: `%s` answered %q with exit code %d", s.Unit, s.Node.Endpoint(), strings.Join(status, " "), strings.TrimSpace(string(out)), code)
	}
	return state, nil
}

// systemdState reads the word systemctl is-active prints.
func systemdState(word string) ServiceState {
	switch word {
	case "active", "reloading", "refreshing":
		return ServiceActive
	case "activating":
		return ServiceActivating
	case "deactivating":
		return ServiceDeactivating
	case "inactive":
		return ServiceInactive
	case "failed":
		return ServiceFailed
	}
	return ServiceUnknown
}

// openRCState reads the exit code of rc-service <unit> status.
func openRCState(code int) ServiceState {
	switch code {
	case 0:
		return ServiceActive
	case 3:
		return ServiceInactive
	case 4:
		return ServiceDeactivating
	case 8, 16:
		return ServiceActivating
	case 32:
		return ServiceFailed
	}
	return ServiceUnknown
}
