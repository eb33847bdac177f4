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

// customCASpec is the menu entry of "Bootstrap a custom CA".
func customCASpec() FlowSpec {
	return FlowSpec{
		ID: FlowCustomCA, Title: "Bootstrap a custom CA",
		Summary: "before k3s first starts: import or generate the root and intermediate",
		Fields:  importFields(false),
		Build:   buildCustomCA,
	}
}

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
