package steps

import (
	"context"
	"errors"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// rotateCertsSpec is the menu entry of "Rotate client and server certificates".
func rotateCertsSpec() FlowSpec {
	return FlowSpec{
		ID: FlowRotateCerts, Title: "Rotate client and server certificates",
		Summary: "stop k3s, back up and remove the chosen leaf certificates, start k3s; then on every node of the cluster",
		Fields: []Field{{Key: "services", Label: "services", Kind: FieldList, Choices: pki.ServiceNames(product.K3s),
			Help: "comma-separated service names; empty or \"all\": every service"},
			{Key: "on-nodes", Label: "on nodes", Kind: FieldText, Optional: true,
				Help: "with a cluster (--inventory, a sandbox cluster): the nodes to rotate them on after this one, comma-separated; empty: every node"}},
		Defaults: map[string]Default{"services": func(Env) string { return "all" }},
		Build:    buildRotateCerts,
	}
}

func buildRotateCerts(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	// This run's start: the rotation's, when the steps below rotate this
	// node (see leafSince).
	start := r.env.Now()
	services := splitList(vals["services"])
	if _, err := pki.LookupServices(r.env.Product, services); err != nil {
		return nil, err
	}
	nodes := splitList(vals["on-nodes"])
	if len(nodes) > 0 && !r.env.ClusterKnown() {
		return nil, errors.New("nodes were named but the cluster is not known: give --inventory FILE (k3s-ansible format), --kubeconfig FILE or --node flags; nothing was changed")
	}
	stop := r.stopTask("start", "Stop k3s", "k3s is started again if a later step fails", nil)
	remove := r.rotateTask(services)
	show := r.checkTask("recheck", "Show the new expiry dates", services)
	if r.dryRun {
		show.Title = "Show the expiry dates (dry run: still the current ones)"
	}
	name := "the chosen services"
	if len(services) == 0 {
		name = "every service"
	}
	tasks := []*Task{r.checkTask("check", "Certificates of "+name, services),
		stop, remove,
		r.startTask("start", "Start k3s so it re-issues them"),
		show}
	if r.env.ClusterKnown() {
		// Then on the cluster's nodes, this one found done.
		tasks = append(tasks, r.leafRolloutTask(services, nodes, start, remove))
	}
	return r.flow(FlowRotateCerts, "Rotate client and server certificates of "+name, tasks...), nil
}
