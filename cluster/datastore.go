package cluster

import (
	"fmt"
	"path"
	"strings"

	"github.com/k3sca/k3sca/product"
)

// datastore decides the server datastore kind from the settings and the
// data dir: datastore-endpoint (sqlite:// is SQLite, anything else is
// external), then cluster-init, then server/db/etcd, then server/db/state.db.
func (pr *prober) datastore() error {
	dd := Fact[string]{Value: pr.lay.p.DefaultDataDir(), Source: "default for " + pr.lay.p.Name()}
	if ev, ok := best(pr.dataDirs); ok {
		dd = Fact[string]{Value: ev.value, Source: ev.source}
	}
	pr.res.DataDir = dd
	if ev, ok := best(pr.endpoints); ok && ev.value != "" {
		if strings.HasPrefix(ev.value, "sqlite:") {
			pr.res.Datastore = Fact[Datastore]{Value: DatastoreSQLite, Source: ev.source + " (sqlite)"}
		} else {
			pr.res.Datastore = Fact[Datastore]{Value: DatastoreExternal, Source: ev.source}
		}
		return nil
	}
	if ev, ok := best(pr.clusterInit); ok && isTrue(ev.value) {
		pr.res.Datastore = Fact[Datastore]{Value: DatastoreEtcd, Source: ev.source}
		return nil
	}
	db := path.Join(product.ServerDir(dd.Value), "db")
	for _, c := range []struct {
		name string
		kind Datastore
	}{{"etcd", DatastoreEtcd}, {"state.db", DatastoreSQLite}} {
		m, err := pr.glob(path.Join(db, c.name))
		if err != nil {
			return err
		}
		if len(m) > 0 {
			pr.res.Datastore = Fact[Datastore]{Value: c.kind, Source: "found " + m[0]}
			return nil
		}
	}
	pr.res.Datastore = Fact[Datastore]{Value: DatastoreUnknown,
		Source: fmt.Sprintf("no datastore-endpoint or cluster-init set, and neither %s/etcd nor %s/state.db exists", db, db)}
	return nil
}

// isTrue is a true boolean as urfave/cli and YAML write it.
func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1", "t", "y":
		return true
	}
	return false
}
