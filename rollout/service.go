package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/remote"
)

// UnitService is the k3s unit on a node reached by remote.Node, run by the
// service manager the node's files show (cluster.ServiceManagerOf).
//
// systemd: `systemctl restart --no-block <unit>`, then `systemctl
// is-active --quiet <unit>` (exit 0: active). The restart does not block:
// k3s's unit is Type=notify with TimeoutStartSec=0, so a blocking restart
// could wait for ever; the rollout's check waits instead.
//
// OpenRC: `rc-service <unit> restart` (it returns once the service's start
// returned: k3s's script runs it under supervise-daemon), then
// `rc-service <unit> status` (exit 0: started; 3: stopped, any other
// non-zero: not started).
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

func (s UnitService) argv() (restart, status []string) {
	if s.Manager.Value == cluster.ManagerOpenRC {
		return []string{"rc-service", s.Unit, "restart"}, []string{"rc-service", s.Unit, "status"}
	}
	return []string{"systemctl", "restart", "--no-block", s.Unit}, []string{"systemctl", "is-active", "--quiet", s.Unit}
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

// IsActive runs the status command: exit 0 is active, another exit code
// is not.
func (s UnitService) IsActive(ctx context.Context) (bool, error) {
	_, status := s.argv()
	_, _, err := s.Node.Run(ctx, status)
	var ee *remote.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.Signal == "":
		return false, nil
	}
	return false, fmt.Errorf("is %s active on %s (%s): %w", s.Unit, s.Node.Endpoint(), s.manager(), err)
}
