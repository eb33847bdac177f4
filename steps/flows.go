package steps

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Flow IDs, as `k3sca run <id>` takes them.
const (
	FlowCheck            = "check"
	FlowRotateCerts      = "rotate-certs"
	FlowCustomCA         = "custom-ca"
	FlowRotateCustomCA   = "rotate-custom-ca"
	FlowRotateCA         = "rotate-ca"
	FlowRotateServiceKey = "rotate-service-key"
	FlowDatastore        = "datastore"
	FlowLoad             = "load"
	FlowRollout          = "rollout"
)

// stageDirDefault is a fresh staging dir under the stage root.
func stageDirDefault(kind string) Default {
	return func(env Env) string {
		return filepath.Join(env.StageRoot, fmt.Sprintf("k3sca-%s-%d", kind, env.Now().Unix()))
	}
}

// The staged dir has one spelling on the command line, --path, as in
// `k3s certificate rotate-ca --path`: where a flow stages its set, and
// where the load flow reads one.
var stageField = Field{Key: "path", Label: "staging dir", Kind: FieldDir, Aliases: []string{"stage-dir"},
	Help: "a new or empty dir for the new files (the --path of rotate-ca); never the live server/tls"}

// importFields are the custom CA's root and intermediate inputs.
func importFields(rootRequired bool) []Field {
	return []Field{
		{Key: "root-cert", Label: "root cert", Kind: FieldPath, Optional: !rootRequired,
			Help: "PEM root CA certificate" + map[bool]string{true: "", false: "; empty: generate a new root"}[rootRequired]},
		{Key: "root-key", Label: "root key", Kind: FieldPath, Optional: true,
			Help: "its key, only to sign a generated intermediate; empty when the intermediate is imported"},
		{Key: "intermediate-cert", Label: "intermediate cert", Kind: FieldPath, Optional: true,
			Help: "PEM intermediate CA signed by the root; empty: generate one with the root key"},
		{Key: "intermediate-key", Label: "intermediate key", Kind: FieldPath, Optional: true,
			Help: "the intermediate's unencrypted PEM key"},
	}
}

// Flows is the menu: every operation of the wizard and of `k3sca run`.
func Flows() []FlowSpec {
	return []FlowSpec{
		{
			ID: FlowCheck, Title: "Check certificates",
			Summary: "expiry report of the CA and leaf certificates, and the services to rotate",
			Build:   buildCheck,
		},
		{
			ID: FlowRotateCerts, Title: "Rotate client and server certificates",
			Summary: "stop k3s, back up and remove the chosen leaf certificates, start k3s",
			Fields: []Field{{Key: "services", Label: "services", Kind: FieldList, Choices: pki.ServiceNames(product.K3s),
				Help: "comma-separated service names; empty or \"all\": every service"}},
			Defaults: map[string]Default{"services": func(Env) string { return "all" }},
			Build:    buildRotateCerts,
		},
		{
			ID: FlowCustomCA, Title: "Bootstrap a custom CA",
			Summary: "before k3s first starts: import or generate the root and intermediate",
			Fields:  importFields(false),
			Build:   buildCustomCA,
		},
		{
			ID: FlowRotateCustomCA, Title: "Rotate a custom CA",
			Summary: "a new intermediate under the same root, or a new root (disruptive)",
			Fields: append([]Field{{Key: "root", Label: "root of trust", Kind: FieldChoice, Choices: []string{"same", "new"},
				Help: "same: a new intermediate, agents keep trust; new: a new root, every node needs the new token"}},
				append(importFields(true), stageField)...),
			Defaults: map[string]Default{stageField.Key: stageDirDefault("custom-ca")},
			Build:    buildRotateCustomCA,
		},
		{
			ID: FlowRotateCA, Title: "Rotate the self-signed CAs",
			Summary:  "new CAs cross-signed by the old ones: nodes keep trust during the change",
			Fields:   []Field{stageField},
			Defaults: map[string]Default{stageField.Key: stageDirDefault("rotation")},
			Build:    buildRotateCA,
		},
		{
			ID: FlowRotateServiceKey, Title: "Rotate the service-account issuer key",
			Summary:  "a new signing key; the old keys stay so issued tokens stay valid",
			Fields:   []Field{stageField},
			Defaults: map[string]Default{stageField.Key: stageDirDefault("service-key")},
			Build:    buildRotateServiceKey,
		},
		{
			ID: FlowDatastore, Title: "Datastore: show, backups, restore",
			Summary: "the bootstrap data in the datastore next to the files on disk",
			Fields: []Field{{Key: "restore", Label: "backup to restore", Kind: FieldBackup, Optional: true,
				Help: "a backup of this data dir (listed below, as k3sca datastore backups prints them); empty: only show"}},
			Build: buildDatastore,
		},
		{
			ID: FlowLoad, Title: "Load a staged dir",
			Summary: "validate a set staged elsewhere (k3sca generate) and load it",
			Fields: []Field{{Key: stageField.Key, Label: "staged dir", Kind: FieldDir, Aliases: []string{"staged-dir"},
				Help: "the dir holding tls/ (rotate-ca --path)"}},
			Build: buildLoad,
		},
		{
			ID: FlowRollout, Title: "Roll out to every node",
			Summary: "after a CA change: every node's token gets the new hash, servers restart one at a time, then agents (--inventory)",
			Build:   buildRollout,
		},
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
	return r.flow(FlowRollout, "Roll out the CA on this server to every node", r.rolloutTask()), nil
}

// buildCheck is the expiry report: the certificates of the data dir and of
// the admin kubeconfig, then the datastore's CAs beside the CA files.
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
	report := check.Run
	check.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
		out, err := report(ctx, progress)
		if err != nil {
			return nil, err
		}
		inv = out.Data.(*pki.Inventory)
		inspectKubeconfig(inv, r.env, r.env.Now())
		if inv.KubeconfigNote != "" {
			out.Warnings = append(out.Warnings, "admin kubeconfig: "+inv.KubeconfigNote)
		}
		return out, nil
	}
	return r.flow(FlowCheck, "Check certificates", check, r.datastoreCAsTask(func() *pki.Inventory { return inv })), nil
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

func buildRotateCA(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	gen := r.generateTask(GenerateInput{Kind: GenRotation, DataDir: r.env.DataDir, Out: vals[stageField.Key],
		Opts: pki.GenOptions{Product: r.env.Product, Now: r.env.Now()}})
	return r.flow(FlowRotateCA, "Rotate the self-signed CAs (cross-signed)",
		gen, r.validateTask(noCurrent, false), r.tokenTask(), r.stopForWriteTask(), r.loadTask(false),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartAll)), nil
}

func buildRotateServiceKey(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	gen := r.generateTask(GenerateInput{Kind: GenServiceKey, DataDir: r.env.DataDir, Out: vals[stageField.Key],
		Opts: pki.GenOptions{Product: r.env.Product, Now: r.env.Now()}})
	return r.flow(FlowRotateServiceKey, "Rotate the service-account issuer key",
		gen, r.validateTask(noCurrent, false), r.stopForWriteTask(), r.loadTask(false),
		r.startTask("restart", "Restart k3s on this server"), r.restartPlanTask(restartServers)), nil
}

func buildRotateCustomCA(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	newRoot := vals["root"] == "new"
	if !newRoot && vals["root-cert"] != "" {
		if err := checkSameRoot(r.server(), vals["root-cert"]); err != nil {
			return nil, err
		}
	}
	gen := r.generateTask(GenerateInput{Kind: GenCustomCA, DataDir: r.env.DataDir, Out: vals[stageField.Key],
		Opts:     pki.GenOptions{Product: r.env.Product, Now: r.env.Now()},
		RootCert: vals["root-cert"], RootKey: vals["root-key"],
		IntermediateCert: vals["intermediate-cert"], IntermediateKey: vals["intermediate-key"]})
	title := "Rotate a custom CA (same root)"
	mode := restartAll
	if newRoot {
		title = "Rotate a custom CA (new root: disruptive)"
		mode = restartNewRoot
	}
	return r.flow(FlowRotateCustomCA, title,
		gen, r.validateTask(noCurrent, newRoot), r.tokenTask(), r.stopForWriteTask(), r.loadTask(newRoot),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(mode)), nil
}

func buildLoad(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	r.staged = vals[stageField.Key]
	if err := CheckStaged(r.env.DataDir, r.staged); err != nil {
		return nil, err
	}
	return r.flow(FlowLoad, "Load "+r.staged,
		r.validateTask(noCurrent, false), r.tokenTask(), r.stopForWriteTask(), r.loadTask(false),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartAll)), nil
}

// noCurrent validates against the live data dir.
func noCurrent() string { return "" }
