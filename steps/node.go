package steps

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// DetectNode describes the node of env.DataDir (node.Describe), naming its
// datastore as ChooseAccess would reach it (describeDatastore) and taking
// env.K3s as its k3s version when it is known.
func DetectNode(ctx context.Context, env Env) node.Facts {
	return node.Describe(ctx, node.DescribeInput{VersionInput: env.versionInput(), K3s: env.K3s,
		Datastore: func(ctx context.Context) string { return describeDatastore(ctx, env) }})
}

// describeDatastore names the datastore ChooseAccess would reach on its
// own (--via auto).
func describeDatastore(ctx context.Context, env Env) string {
	in := env.access()
	in.Via = ViaAuto
	acc, err := ChooseAccess(ctx, in)
	sqlite := "sqlite (server/" + pki.DatastoreFile + ")"
	switch {
	case errors.Is(err, ErrK3sRunning):
		return sqlite
	case errors.Is(err, ErrNoDatastore):
		if ds, rerr := node.ReadK3sDatastore(in.K3sConfig); rerr == nil && ds.Endpoint != "" && ds.AppliesTo(in.DataDir, in.Product) {
			return "external SQL"
		}
		return "none"
	case err != nil:
		return "unknown: " + err.Error()
	case acc.Via == ViaSQLite:
		return sqlite
	}
	eps := acc.Etcd.Endpoints
	switch {
	case len(eps) == 1 && strings.HasPrefix(eps[0], "unix://"):
		return "kine socket"
	case len(eps) == 1 && eps[0] == datastore.EmbeddedEtcdEndpoint && fsutil.DirExists(filepath.Join(product.ServerDir(in.DataDir), "db", "etcd")):
		return "embedded etcd"
	}
	return "external etcd"
}

// DatastoreRevision is the highest revision of the /bootstrap keys in the
// node's datastore, read read-only (a state.db is opened without writing,
// also while k3s runs). It is what the wizard's header shows after every
// step, so a load or restore shows its new revision at once.
func DatastoreRevision(ctx context.Context, env Env) (int64, error) {
	env = env.WithDefaults()
	in := env.access()
	in.Via, in.ReadOnly = ViaAuto, true
	acc, err := ChooseAccess(ctx, in)
	if err != nil {
		return 0, err
	}
	if acc.Via == ViaServer {
		return 0, fmt.Errorf("datastore revision: not readable through the server API")
	}
	b, err := acc.Open(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("open datastore (%s): %w", acc.Via, err)
	}
	defer b.Close()
	keys, err := b.List(ctx, datastore.BootstrapPrefix)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", datastore.BootstrapPrefix, err)
	}
	var rev int64
	for _, kv := range keys {
		rev = max(rev, kv.ModRevision)
	}
	return rev, nil
}
