package steps

import (
	"context"
	"fmt"

	"github.com/k3sca/k3sca/datastore"
)

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
