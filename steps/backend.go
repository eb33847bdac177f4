package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Via names how k3sca reaches the datastore.
type Via string

// Datastore access paths.
const (
	ViaAuto   Via = "auto"
	ViaSQLite Via = "sqlite"
	ViaEtcd   Via = "etcd"
	ViaServer Via = "server"
)

// ParseVia checks a --via value.
func ParseVia(s string) (Via, error) {
	switch v := Via(s); v {
	case "", ViaAuto:
		return ViaAuto, nil
	case ViaSQLite, ViaEtcd, ViaServer:
		return v, nil
	}
	return "", fmt.Errorf("unknown --via %q: want auto, sqlite, etcd or server", s)
}

// Errors of datastore selection.
var (
	ErrK3sRunning  = errors.New("k3s is running; a direct SQLite write needs k3s stopped (or use --via etcd, which goes through kine's socket, or --via server)")
	ErrNoDatastore = errors.New("no datastore found in the data dir")
)

// Access says which backend to open and why.
type Access struct {
	// Via is the chosen path.
	Via Via
	// Reason explains the choice for the operator.
	Reason string
	// Etcd is the client config for ViaEtcd.
	Etcd datastore.EtcdConfig
	// SQLitePath is the state.db for ViaSQLite.
	SQLitePath string
	// Timeout is AccessInput.Timeout.
	Timeout time.Duration
	// DataDir is the data dir, for the hints of a busy state.db.
	DataDir string
}

// AccessInput is what ChooseAccess looks at.
type AccessInput struct {
	// DataDir is the k3s data dir.
	DataDir string
	// Via is what the operator asked for (auto by default).
	Via Via
	// Etcd overrides the derived etcd config when it has endpoints.
	Etcd datastore.EtcdConfig
	// Product names the unit to query.
	Product product.Product
	// Services queries whether k3s runs.
	Services ServiceManager
	// K3sConfig is the k3s server config file whose datastore-endpoint
	// (external etcd) is used when no etcd endpoints are given; "" skips it.
	K3sConfig string
	// ReadOnly asks only to read (a report, a dry run): a state.db may then
	// be opened while k3s runs.
	ReadOnly bool
	// Timeout bounds every datastore call (--timeout): the etcd dial and
	// each request, SQLite's wait for a lock another process holds, each
	// server API request. 0 keeps each backend's default.
	Timeout time.Duration
}

// ChooseAccess picks the datastore path: a live kine socket or embedded etcd
// means etcd; a state.db with k3s stopped means SQLite.
func ChooseAccess(ctx context.Context, in AccessInput) (Access, error) {
	server := product.ServerDir(in.DataDir)
	dbPath := filepath.Join(server, filepath.FromSlash(pki.DatastoreFile))
	sockLive := kineSocketLive(server)
	running := sockLive
	if in.Services != nil {
		if active, err := in.Services.IsActive(ctx, in.Product.ServerUnit()); err == nil && active {
			running = true
		}
	}
	etcdCfg := in.Etcd
	embedded := dirExists(filepath.Join(server, "db", "etcd"))
	external, err := readK3sDatastore(in.K3sConfig)
	if err != nil {
		return Access{}, err
	}
	if !external.appliesTo(in.DataDir, in.Product) {
		external = k3sDatastore{}
	}
	fromConfig := len(etcdCfg.Endpoints) == 0 && len(external.etcdEndpoints()) > 0
	switch {
	case fromConfig:
		etcdCfg = external.etcdConfig()
	case len(etcdCfg.Endpoints) == 0:
		etcdCfg = datastore.EtcdConfigForDataDir(server, embedded)
	}
	if in.Timeout > 0 {
		etcdCfg.DialTimeout = in.Timeout
	}
	acc, err := chooseAccess(in, etcdCfg, fromConfig, external, sockLive, running, embedded, dbPath)
	acc.Timeout, acc.DataDir = in.Timeout, in.DataDir
	return acc, err
}

func chooseAccess(in AccessInput, etcdCfg datastore.EtcdConfig, fromConfig bool, external k3sDatastore, sockLive, running, embedded bool, dbPath string) (Access, error) {
	switch in.Via {
	case ViaSQLite:
		if running && !in.ReadOnly {
			return Access{}, ErrK3sRunning
		}
		return Access{Via: ViaSQLite, SQLitePath: dbPath, Reason: "asked for --via sqlite"}, nil
	case ViaEtcd:
		return Access{Via: ViaEtcd, Etcd: etcdCfg, Reason: "asked for --via etcd"}, nil
	case ViaServer:
		return Access{Via: ViaServer, Reason: "asked for --via server"}, nil
	}
	switch {
	case len(in.Etcd.Endpoints) > 0:
		return Access{Via: ViaEtcd, Etcd: etcdCfg, Reason: "etcd endpoints were given"}, nil
	case fromConfig:
		return Access{Via: ViaEtcd, Etcd: etcdCfg, Reason: "external etcd from datastore-endpoint in " + in.K3sConfig}, nil
	case external.Endpoint != "" && !sockLive:
		return Access{}, fmt.Errorf("%w: %s names an external SQL datastore; start k3s so k3sca can write through kine's socket", ErrNoDatastore, in.K3sConfig)
	case sockLive:
		return Access{Via: ViaEtcd, Etcd: etcdCfg, Reason: "kine.sock answers: k3s is running on SQLite/kine, writing through kine"}, nil
	case embedded:
		return Access{Via: ViaEtcd, Etcd: etcdCfg, Reason: "server/db/etcd exists: embedded etcd at 127.0.0.1:2379"}, nil
	case fileExists(dbPath) && !running:
		return Access{Via: ViaSQLite, SQLitePath: dbPath, Reason: "k3s is stopped and server/db/state.db exists: writing SQLite directly"}, nil
	case fileExists(dbPath) && in.ReadOnly:
		return Access{Via: ViaSQLite, SQLitePath: dbPath, Reason: "k3s is running: reading server/db/state.db read-only"}, nil
	case fileExists(dbPath):
		return Access{}, ErrK3sRunning
	}
	if fi, err := os.Lstat(dbPath); err == nil {
		return Access{}, fmt.Errorf("%w: %s is not a regular file (%s)", ErrNoDatastore, dbPath, fi.Mode().Type())
	}
	return Access{}, fmt.Errorf("%w: neither %s nor a kine socket or embedded etcd", ErrNoDatastore, dbPath)
}

// Open connects to the chosen backend (not for ViaServer). A read-only
// SQLite handle touches no file, for dry runs and reports.
func (a Access) Open(ctx context.Context, readOnly bool) (datastore.Backend, error) {
	switch {
	case a.Via == ViaSQLite && readOnly:
		b, err := datastore.OpenSQLiteReadOnly(ctx, a.SQLitePath, a.Timeout)
		return b, a.hint(err)
	case a.Via == ViaSQLite:
		b, err := datastore.OpenSQLite(ctx, a.SQLitePath, a.Timeout)
		return b, a.hint(err)
	case a.Via == ViaEtcd:
		return datastore.OpenEtcd(ctx, a.Etcd)
	}
	return nil, fmt.Errorf("no key-value backend for --via %s", a.Via)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
