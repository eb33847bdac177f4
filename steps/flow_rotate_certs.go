package steps

import (
	"context"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// rotateCertsSpec is the menu entry of "Rotate client and server certificates".
func rotateCertsSpec() FlowSpec {
	return FlowSpec{
		ID: FlowRotateCerts, Title: "Rotate client and server certificates",
		Summary: "stop k3s, back up and remove the chosen leaf certificates, start k3s",
		Fields: []Field{{Key: "services", Label: "services", Kind: FieldList, Choices: pki.ServiceNames(product.K3s),
			Help: "comma-separated service names; empty or \"all\": every service"}},
		Defaults: map[string]Default{"services": func(Env) string { return "all" }},
		Build:    buildRotateCerts,
	}
}

func buildRotateCerts(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	services := splitList(vals["services"])
	if _, err := pki.LookupServices(r.env.Product, services); err != nil {
		return nil, err
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
	return r.flow(FlowRotateCerts, "Rotate client and server certificates of "+name,
		r.checkTask("check", "Certificates of "+name, services),
		stop, remove,
		r.startTask("start", "Start k3s so it re-issues them"),
		show), nil
}
