package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// buildCustomCA is the custom CA of a cluster that has not started: the set
// goes straight into server/tls, as k3s's own custom-CA docs do.
func buildCustomCA(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if env.DataDir == "" {
		return nil, errors.New("no data dir")
	}
	r := newRun(env)
	server := r.server()
	in := GenerateInput{Kind: GenCustomCA, DataDir: r.env.DataDir, Out: server, Initial: true,
		Opts:     pki.GenOptions{Product: r.env.Product, Now: r.env.Now()},
		RootCert: vals["root-cert"], RootKey: vals["root-key"],
		IntermediateCert: vals["intermediate-cert"], IntermediateKey: vals["intermediate-key"]}
	check := &Task{
		ID:    "preflight",
		Title: "Check that the cluster has not started yet",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			if err := notInitialised(ctx, r.env); err != nil {
				return nil, err
			}
			return &Outcome{Summary: "no CA file in " + filepath.Join(server, pki.TLSDir) + " and no datastore: k3s has not started here"}, nil
		},
	}
	gen := r.generateTask(in)
	validate := r.validateTask(func() string { return r.staged }, false)
	validate.Title = "Validate the set as k3s would"
	hash := &Task{
		ID:    "token",
		Title: "Show the token hash the cluster will have",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			f, _ := pki.Field("ServerCA")
			b, err := os.ReadFile(f.Abs(r.staged))
			if err != nil {
				return nil, fmt.Errorf("read the new server CA: %w", err)
			}
			h, err := pki.HashCA(b, r.env.Now())
			if err != nil {
				return nil, err
			}
			out := &Outcome{Summary: "CA hash " + h.Hex, Data: h,
				Details: []string{
					"the secure token of this cluster will be K10" + h.Hex + "::server:<password>",
					"start the first server with: k3s server --token <password> (the password part only)",
				}}
			if r.env.Token != "" {
				if t, err := pki.ParseToken(r.env.Token); err == nil {
					t = t.WithCAHash(h.Hex)
					out.Secret = []string{"token: " + t.String()}
					out.Masked = []string{"token: " + t.Masked()}
				}
			}
			return out, nil
		},
	}
	keys := &Task{
		ID:    "keys",
		Title: "Move the root and intermediate keys off this node",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			return offNodeOutcome(r, in), nil
		},
	}
	return r.flow(FlowCustomCA, "Bootstrap a custom CA", check, gen, validate, hash, keys), nil
}

// notInitialised refuses a cluster that has started: CA files in its tls
// dir, or a datastore with bootstrap data.
func notInitialised(ctx context.Context, env Env) error {
	server := product.ServerDir(env.DataDir)
	if found := InitialCAFiles(server); len(found) > 0 {
		return fmt.Errorf("%w: %s exists. A cluster that has started changes its CA with a rotation: choose \"Rotate a custom CA\" (k3s certificate rotate-ca)", ErrInitialized, found[0])
	}
	for _, p := range []string{filepath.Join(server, filepath.FromSlash(pki.DatastoreFile)), filepath.Join(server, "db", "etcd")} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%w: %s exists, so k3s has stored its bootstrap data. Choose \"Rotate a custom CA\" (k3s certificate rotate-ca)", ErrInitialized, p)
		}
	}
	return ctx.Err()
}

// offNodeOutcome lists the root and intermediate keys k3s does not need.
func offNodeOutcome(r *run, in GenerateInput) *Outcome {
	var keys []string
	for _, p := range []string{in.RootKey, in.IntermediateKey} {
		if p != "" {
			keys = append(keys, p+" (imported)")
		}
	}
	if r.gen.Set() != nil {
		for _, f := range r.gen.Set().Files {
			if strings.HasPrefix(f.Path, "ca/") && strings.HasSuffix(f.Path, ".key") {
				keys = append(keys, filepath.Join(in.Out, filepath.FromSlash(f.Path))+" (generated)")
			}
		}
	}
	out := &Outcome{Summary: "k3s needs only the files in server/tls; keep these keys offline for the next rotation"}
	if len(keys) == 0 {
		out.Details = []string{"no root or intermediate key is on this node"}
		return out
	}
	out.Warnings = []string{"Move these keys to offline storage, then delete them from this node:"}
	out.Details = keys
	return out
}

func buildDatastore(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	backup := strings.TrimSpace(vals["restore"])
	show := &Task{
		ID:    "show",
		Title: "Bootstrap data in the datastore and on disk",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			rep, err := ShowDatastore(ctx, r.env.access(), r.env.Token)
			if err != nil {
				return nil, err
			}
			out := &Outcome{Data: rep, Summary: fmt.Sprintf("%s via %s; key %s at revision %d", plural(len(rep.Keys), "bootstrap key"), rep.Via, rep.Key, rep.Revision)}
			for _, f := range rep.Fields {
				out.Details = append(out.Details, fmt.Sprintf("%-22s %-8s %s", f.Field, f.Disk, f.AtNextStart))
			}
			out.Warnings = rep.Notes
			return out, nil
		},
	}
	list := &Task{
		ID:    "backups",
		Title: "Backups",
		Run: func(context.Context, func(string)) (*Outcome, error) {
			bs, err := ListBackups(r.env.DataDir)
			if err != nil {
				return nil, err
			}
			out := &Outcome{Data: bs, Summary: fmt.Sprintf("%s in %s", plural(len(bs), "backup"), BackupDir(r.env.DataDir))}
			for _, b := range bs {
				out.Details = append(out.Details, fmt.Sprintf("%s  rev %d via %s  %s", b.Created.UTC().Format("2006-01-02 15:04:05"), b.Revision, b.Via, b.Path))
			}
			incomplete, err := IncompleteBackups(r.env.DataDir)
			if err != nil {
				return nil, err
			}
			for _, p := range incomplete {
				out.Warnings = append(out.Warnings, IncompleteNote(p))
			}
			return out, nil
		},
	}
	rs := r.restoreTask(backup)
	tasks := []*Task{show, list}
	if backup != "" {
		tasks = append(tasks, r.stopForWriteTask(), rs, r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartAll))
	} else {
		// Nothing to restore: a step that only says so and writes nothing,
		// so showing the datastore needs no --yes.
		tasks = append(tasks, &Task{ID: "restore", Title: "Restore a backup", Skip: rs.Skip})
	}
	return r.flow(FlowDatastore, "Datastore", tasks...), nil
}

// restartMode says which nodes must restart after a change.
type restartMode int

const (
	restartAll     restartMode = iota // servers, then agents
	restartServers                    // servers only (the service-account key)
	restartNewRoot                    // servers, then agents with the new token
)

// lastTask ends a CA flow: the rollout to every node when the cluster's
// inventory is known (and the change needs more than server restarts),
// else the text of what to do on the other nodes.
func (r *run) lastTask(mode restartMode) *Task {
	if r.env.ClusterKnown() && mode != restartServers {
		return r.rolloutTask()
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
	if hashChanges || mode == restartNewRoot {
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

// plural is "1 backup", "2 backups".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
