package steps

import (
	"errors"
	"testing"

	"github.com/k3sca/k3sca/datastore"
)

// TestDecideAccess is the choice of a datastore path, fact by fact.
func TestDecideAccess(t *testing.T) {
	db := datastoreFacts{DBPath: "/d/server/db/state.db", DBExists: true, ConfigFile: "/etc/rancher/k3s/config.yaml"}
	with := func(f datastoreFacts, mod func(*datastoreFacts)) datastoreFacts { mod(&f); return f }
	etcd := datastore.EtcdConfig{Endpoints: []string{"https://10.0.0.1:2379"}}
	tests := []struct {
		name     string
		via      Via
		readOnly bool
		facts    datastoreFacts
		want     Via
		err      error
	}{
		{"sqlite, k3s stopped", ViaAuto, false, db, ViaSQLite, nil},
		{"sqlite, k3s running", ViaAuto, false, with(db, func(f *datastoreFacts) { f.Running = true }), "", ErrK3sRunning},
		{"sqlite, k3s running, read only", ViaAuto, true, with(db, func(f *datastoreFacts) { f.Running = true }), ViaSQLite, nil},
		{"kine socket answers", ViaAuto, false, with(db, func(f *datastoreFacts) { f.SockLive, f.Running = true, true }), ViaEtcd, nil},
		{"embedded etcd", ViaAuto, false, datastoreFacts{Embedded: true}, ViaEtcd, nil},
		{"endpoints given", ViaAuto, false, with(db, func(f *datastoreFacts) { f.Given, f.Etcd = true, etcd }), ViaEtcd, nil},
		{"external etcd in config", ViaAuto, false, datastoreFacts{FromConfig: true, Etcd: etcd}, ViaEtcd, nil},
		{"external SQL, k3s stopped", ViaAuto, false, datastoreFacts{ExternalSQL: true}, "", ErrNoDatastore},
		{"external SQL, kine answers", ViaAuto, false, datastoreFacts{ExternalSQL: true, SockLive: true, Running: true}, ViaEtcd, nil},
		{"nothing", ViaAuto, false, datastoreFacts{}, "", ErrNoDatastore},
		{"--via sqlite, running", ViaSQLite, false, with(db, func(f *datastoreFacts) { f.Running = true }), "", ErrK3sRunning},
		{"--via sqlite, running, read only", ViaSQLite, true, with(db, func(f *datastoreFacts) { f.Running = true }), ViaSQLite, nil},
		{"--via etcd", ViaEtcd, false, db, ViaEtcd, nil},
		{"--via server", ViaServer, false, db, ViaServer, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, err := decideAccess(tt.via, tt.readOnly, tt.facts)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || acc.Via != tt.want || acc.Reason == "" {
				t.Fatalf("got %+v, %v; want via %s with a reason", acc, err, tt.want)
			}
			if acc.Via == ViaSQLite && acc.SQLitePath != tt.facts.DBPath {
				t.Errorf("sqlite path %q", acc.SQLitePath)
			}
			if acc.Via == ViaEtcd && len(tt.facts.Etcd.Endpoints) > 0 && acc.Etcd.Endpoints[0] != tt.facts.Etcd.Endpoints[0] {
				t.Errorf("etcd config %+v", acc.Etcd)
			}
		})
	}
}

// TestAccessStore is what holds the data behind each access path: what a
// load can copy before it writes.
func TestAccessStore(t *testing.T) {
	sock := datastore.EtcdConfig{Endpoints: []string{"unix:///d/server/kine.sock"}}
	local := datastore.EtcdConfig{Endpoints: []string{"https://127.0.0.1:2379"}}
	remote := datastore.EtcdConfig{Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}}
	tests := []struct {
		name  string
		via   Via
		facts datastoreFacts
		want  Store
	}{
		{"state.db, k3s stopped", ViaAuto, datastoreFacts{DBPath: "/d/server/db/state.db", DBExists: true}, StoreSQLite},
		{"kine over state.db", ViaAuto, datastoreFacts{DBExists: true, SockLive: true, Running: true, Etcd: sock}, StoreSQLite},
		{"kine over external SQL", ViaAuto, datastoreFacts{ExternalSQL: true, SockLive: true, Running: true, Etcd: sock}, StoreExternalSQL},
		{"kine over nothing known", ViaAuto, datastoreFacts{SockLive: true, Running: true, Etcd: sock}, StoreUnknown},
		{"embedded etcd", ViaAuto, datastoreFacts{Embedded: true, Etcd: local}, StoreEmbeddedEtcd},
		{"--via etcd with localhost endpoints on an embedded node", ViaEtcd, datastoreFacts{Embedded: true, Given: true,
			Etcd: datastore.EtcdConfig{Endpoints: []string{"http://localhost:2379", "https://[::1]:2379"}}}, StoreEmbeddedEtcd},
		{"remote endpoints given on an embedded node", ViaAuto, datastoreFacts{Embedded: true, Given: true, Etcd: remote}, StoreExternalEtcd},
		{"local endpoints given, no embedded etcd", ViaAuto, datastoreFacts{Given: true, Etcd: local}, StoreExternalEtcd},
		{"external etcd in config, even on loopback", ViaAuto, datastoreFacts{Embedded: true, FromConfig: true, Etcd: local}, StoreExternalEtcd},
		{"--via sqlite", ViaSQLite, datastoreFacts{DBExists: true}, StoreSQLite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, err := decideAccess(tt.via, false, tt.facts)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.facts.store(acc); got != tt.want {
				t.Errorf("store %s, want %s", got, tt.want)
			}
		})
	}
}
