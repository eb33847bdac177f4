package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
)

// checkSpec is the menu entry of "Check certificates".
func checkSpec() FlowSpec {
	return FlowSpec{
		ID: FlowCheck, Title: "Check certificates",
		Summary: "expiry report of the CA and leaf certificates, and the services to rotate",
		Build:   buildCheck,
	}
}

// buildCheck is the expiry report: the certificates of the data dir and of
// the admin kubeconfig, then the datastore's CAs beside the CA files (read
// in the background from the start of the check step).
// vals["services"] (not a field of the menu; `k3sca check --service`
// sets it) limits the leaf services.
func buildCheck(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	services := splitList(vals["services"])
	if _, err := pki.LookupServices(env.Product, services); err != nil {
		return nil, err
	}
	r := newRun(env)
	check := r.checkTask("check", "Certificate expiry report", services)
	var inv *pki.Inventory
	var read *datastoreCAs
	datastore := r.datastoreCAsTask(func() *pki.Inventory { return inv }, func() *datastoreCAs { return read })
	report := check.Run
	check.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
		// The datastore step's read runs while the files are inspected
		// (unless --skip or --only leaves that step out).
		if !datastore.off {
			read = startDatastoreCAs(ctx, r.env)
		}
		out, err := report(ctx, progress)
		if err != nil {
			if read != nil {
				read.stop()
				read = nil
			}
			return nil, err
		}
		inv = out.Data.(*pki.Inventory)
		inspectKubeconfig(inv, r.env, r.env.Now())
		if inv.KubeconfigNote != "" {
			out.Warnings = append(out.Warnings, "admin kubeconfig: "+inv.KubeconfigNote)
		}
		return out, nil
	}
	return r.flow(FlowCheck, "Check certificates", check, datastore), nil
}

// checkTask reports the certificates (of services, all when nil).
func (r *run) checkTask(id, title string, services []string) *Task {
	return &Task{
		ID:    id,
		Title: title,
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			inv, err := Check(ctx, CheckInput{DataDir: r.env.DataDir, Product: r.env.Product, Now: r.env.Now(), Window: r.env.Window, Services: services})
			if err != nil {
				return nil, err
			}
			return inventoryOutcome(inv), nil
		},
	}
}

// inventoryOutcome summarizes a check: how many certificates, which
// services need rotation.
func inventoryOutcome(inv *pki.Inventory) *Outcome {
	need := map[string]bool{}
	var names []string
	for _, c := range inv.Leaves {
		if c.Status != pki.StatusOK && !need[c.Service] {
			need[c.Service] = true
			names = append(names, c.Service)
		}
	}
	n := len(inv.CAs) + len(inv.Leaves)
	out := &Outcome{Data: inv, Summary: fmt.Sprintf("%d certificates (%d CA, %d leaf); none needs rotation", n, len(inv.CAs), len(inv.Leaves))}
	if len(names) > 0 {
		verb := "services need"
		if len(names) == 1 {
			verb = "service needs"
		}
		out.Summary = fmt.Sprintf("%d certificates (%d CA, %d leaf); %d %s rotation", n, len(inv.CAs), len(inv.Leaves), len(names), verb)
		out.Warnings = []string{"rotate: " + strings.Join(names, ", ")}
	}
	for _, c := range inv.CAs {
		if c.Status != pki.StatusOK {
			out.Warnings = append(out.Warnings, fmt.Sprintf("CA %s (%s): %s; CAs are replaced by a CA rotation, not by k3s", c.Subject, c.Service, c.Status))
		}
	}
	for _, f := range inv.Unreadable {
		out.Warnings = append(out.Warnings, "unreadable (k3s skips it): "+f)
	}
	return out
}

// inspectKubeconfig adds the node's admin kubeconfig to inv.
func inspectKubeconfig(inv *pki.Inventory, env Env, now time.Time) {
	path := node.KubeconfigPath(env.DataDir, env.Product)
	certs, err := pki.InspectKubeconfig(path, now, env.Window)
	inv.AddKubeconfig(path, certs, err)
}
