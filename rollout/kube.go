package rollout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/kube"
)

// KubeReady checks that a node is Ready in the Kubernetes API: GET
// /api/v1/nodes/<Node> through the admin kubeconfig of a server, read from
// that server at each check (k3s rewrites it at start, with a client
// certificate of the new client CA). Ready means the node's Ready
// condition has status True; an API that cannot be reached is never taken
// for Ready.
type KubeReady struct {
	// Node is the node's name in the API.
	Node string
	// Server reads the kubeconfig (at Kubeconfig, a node path) on the
	// server named ServerName; Address replaces a loopback API address in
	// it ("" keeps it: the server is this machine).
	Server     Host
	ServerName string
	Kubeconfig string
	Address    string
	// Timeout bounds one request (0: 10 s); Now is the clock certificates
	// are verified at.
	Timeout time.Duration
	Now     func() time.Time
}

// Name implements Verifier.
func (k KubeReady) Name() string { return "node Ready" }

// Verify implements Verifier.
func (k KubeReady) Verify(ctx context.Context, _ *cluster.ProbeResult) error {
	b, err := k.Server.ReadFile(ctx, k.Kubeconfig)
	if errors.Is(err, fs.ErrNotExist) {
		return notChecked("no %s on %s", k.Kubeconfig, k.ServerName)
	}
	if err != nil {
		return notChecked("the admin kubeconfig: %v", err)
	}
	kc, err := kube.ParseKubeconfig(b)
	if err != nil {
		return notChecked("%s on %s: %v", k.Kubeconfig, k.ServerName, err)
	}
	c, err := kube.NewClient(kc.OnHost(k.Address), k.Timeout, k.Now)
	if err != nil {
		return notChecked("%s on %s: %v", k.Kubeconfig, k.ServerName, err)
	}
	n, err := c.Node(ctx, k.Node)
	switch {
	case errors.Is(err, kube.ErrUnreachable):
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	case errors.Is(err, kube.ErrNoSuchNode):
		return notChecked("the API at %s has no node %q: is that its node name?", c.Server(), k.Node)
	case err != nil:
		return err
	}
	cond, ok := n.Ready()
	if !ok {
		return fmt.Errorf("node %s has no Ready condition", k.Node)
	}
	if cond.Status != "True" {
		return fmt.Errorf("node %s: Ready is %s (%s: %s)", k.Node, cond.Status, cond.Reason, cond.Message)
	}
	return nil
}
