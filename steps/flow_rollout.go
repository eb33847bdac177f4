package steps

import (
	"context"
	"errors"
)

// rolloutSpec is the menu entry of "Roll out to every node".
func rolloutSpec() FlowSpec {
	return FlowSpec{
		ID: FlowRollout, Title: "Roll out to every node",
		Summary: "after a CA change: every node's token gets the new hash, servers restart one at a time, then agents (--inventory)",
		Build:   buildRollout,
	}
}

func buildRollout(_ context.Context, env Env, _ map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	if !env.ClusterKnown() {
		return nil, errors.New("no nodes: give --inventory FILE (k3s-ansible format), --kubeconfig FILE (a server's admin kubeconfig) or --node flags")
	}
	r := newRun(env)
	return r.flow(FlowRollout, "Roll out the CA on this server to every node", r.rolloutTask(restartAll)), nil
}
