package sandbox

import (
	"context"
	"crypto/x509"
	"errors"

	"github.com/k3sca/k3sca/rollout"
)

// A leaf rotation stops a node's service while it removes the leaf
// certificates (rollout.Leaf): the sandbox's services can be stopped.
var (
	_ rollout.Stopper = unitService{}
	_ rollout.Stopper = (*sandboxAgent)(nil)
)

// Stop stops the unit.
func (u unitService) Stop(ctx context.Context) error { return u.mgr.Stop(ctx, u.unit) }

// Stop marks the agent stopped.
func (a *sandboxAgent) Stop(context.Context) error { return a.write(false, a.now()) }

// servingProbe is the chain the simulated supervisor of svc presents,
// as a server's 6443 listener is asked (rollout.ListenerChain).
func servingProbe(svc *Services, unit string) rollout.ServingProbe {
	return func(ctx context.Context) ([]*x509.Certificate, error) {
		url, ok := svc.SupervisorURL(unit)
		if !ok {
			return nil, errors.New("the supervisor does not answer")
		}
		return rollout.ListenerChain(url)(ctx)
	}
}
