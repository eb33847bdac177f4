package steps

// The last task of a CA flow: the rollout, or what to restart on the
// other nodes, in order.

import (
	"context"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// restartMode says which nodes must restart after a change.
type restartMode int

const (
	restartAll     restartMode = iota // servers, then agents
	restartServers                    // servers only (the service-account key)
	restartNewRoot                    // servers, then agents with the new token
	// restartPutBack undoes a rollout after a datastore restore: every
	// node's token files put back from their backups, then servers, then
	// agents.
	restartPutBack
)

// lastTask ends a CA flow: the rollout when the cluster's nodes are known
// (to the servers only, for restartServers), else the text of what to do
// on the other nodes.
func (r *run) lastTask(mode restartMode) *Task {
	if r.env.ClusterKnown() {
		return r.rolloutTask(mode)
	}
	return r.restartPlanTask(mode)
}

// restartPlanTask says what to do on the other nodes, in order.
func (r *run) restartPlanTask(mode restartMode) *Task {
	return &Task{
		ID:    "plan",
		Title: "Restart the other nodes, in order",
		Run: func(context.Context, func(string)) (*Outcome, error) {
			return restartPlan(r.env.Product, mode, r.tokens), nil
		},
	}
}

func restartPlan(p product.Product, mode restartMode, tokens *TokenReport) *Outcome {
	name := p.Name()
	server, agent := p.ServerUnit(), p.AgentUnit()
	out := &Outcome{Summary: "servers first, one at a time; then agents"}
	restart := fmt.Sprintf("systemctl restart %s (OpenRC: rc-service %s restart); wait until it is Ready", server, server)
	if mode == restartServers {
		out.Summary = "servers only, one at a time; agents need nothing"
		out.Details = []string{
			"1. every other server, one at a time: " + restart,
			"2. agents: nothing to do; pods get tokens signed by the new key as they renew them",
		}
		return out
	}
	// The server CA changed: each server's listener must issue its serving
	// certificate again, or it keeps one signed by the old CA.
	trigger := pki.RegenerateTriggerPath(product.ServerDir(p.DefaultDataDir()))
	d := []string{
		fmt.Sprintf("1. every other server, one at a time: first create the empty file %s (0600), then %s", trigger, restart),
		"   on each: " + triggerCommand(trigger),
	}
	d = append(d, fmt.Sprintf("2. then every agent: systemctl restart %s (OpenRC: rc-service %s restart)", agent, agent))
	hashChanges := tokens != nil && tokens.New != nil && tokens.New.Hash.Hex != tokens.Current.Hash.Hex
	if hashChanges && mode == restartPutBack {
		d = append(d,
			"before restarting a node that joins with a full token (K10<hash>::...), put its token files back: the backup a rollout left beside each (<file>.k3sca-bak-<unix>, holding the restored CA hash; keep its mode and owner), or else replace the token with the new one, in:",
			fmt.Sprintf("   /etc/rancher/%s/config.yaml (token:) and its config.yaml.d/*.yaml", name),
			fmt.Sprintf("   /etc/systemd/system/%s.service.env and %s.service.env (%s_TOKEN=)", server, agent, strings.ToUpper(name)),
			fmt.Sprintf("   the unit files %s.service / %s.service (--token in ExecStart)", server, agent),
		)
	}
	if (hashChanges && mode != restartPutBack) || mode == restartNewRoot {
		d = append(d,
			"before restarting a node that joins with a full token (K10<hash>::...), replace the token with the new one in:",
			fmt.Sprintf("   /etc/rancher/%s/config.yaml (token:) and its config.yaml.d/*.yaml", name),
			fmt.Sprintf("   /etc/systemd/system/%s.service.env and %s.service.env (%s_TOKEN=)", server, agent, strings.ToUpper(name)),
			fmt.Sprintf("   the unit files %s.service / %s.service (--token in ExecStart)", server, agent),
		)
	}
	if mode == restartNewRoot {
		out.Warnings = []string{"New root: until a node restarts with the new CA and token it cannot talk to the others; kubeconfig files must be fetched again."}
	}
	out.Details = d
	return out
}
