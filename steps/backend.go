package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
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

// Store names what holds the data behind an access path: what a copy of
// the whole datastore can be taken of.
type Store string

// Datastores.
const (
	// StoreSQLite is this server's server/db/state.db, opened directly or
	// behind kine's socket.
	StoreSQLite Store = "sqlite"
	// StoreEmbeddedEtcd is k3s's embedded etcd on this server.
	StoreEmbeddedEtcd Store = "embedded-etcd"
	// StoreExternalEtcd is an etcd cluster k3s does not run.
	StoreExternalEtcd Store = "external-etcd"
	// StoreExternalSQL is an external SQL database behind kine.
	StoreExternalSQL Store = "external-sql"
	// StoreUnknown: kine's socket answers, but no state.db and no external
	// SQL datastore-endpoint say what it stores in.
	StoreUnknown Store = "unknown"
)

// DefaultSQLiteCopyLimit is the largest state.db a load copies before it
// writes, unless the operator sets another limit.
const DefaultSQLiteCopyLimit = 1 << 30

// Access says which backend to open and why.
type Access struct {
	// Via is the chosen path.
	Via Via
	// Store is what holds the data (not for ViaServer).
	Store Store
	// SnapshotDir is where k3s keeps embedded etcd snapshots.
	SnapshotDir string
	// SQLiteCopyLimit is AccessInput.SQLiteCopyLimit with its default.
	SQLiteCopyLimit int64
	// Product is AccessInput.Product, for the commands that restore a copy.
	Product product.Product
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
	Services node.ServiceManager
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
	// SQLiteCopyLimit is the largest state.db (with its -wal) a write
	// copies first: 0 means DefaultSQLiteCopyLimit, a negative value never
	// copies.
	SQLiteCopyLimit int64
}

// ChooseAccess picks the datastore path: a live kine socket or embedded etcd
// means etcd; a state.db with k3s stopped means SQLite. It probes the node
// (probeDatastore), then decides (decideAccess).
func ChooseAccess(ctx context.Context, in AccessInput) (Access, error) {
	facts, err := probeDatastore(ctx, in)
	if err != nil {
		return Access{}, err
	}
	acc, err := decideAccess(in.Via, in.ReadOnly, facts)
	acc.Timeout, acc.DataDir, acc.Product = in.Timeout, in.DataDir, in.Product
	acc.SQLiteCopyLimit = in.SQLiteCopyLimit
	if acc.SQLiteCopyLimit == 0 {
		acc.SQLiteCopyLimit = DefaultSQLiteCopyLimit
	}
	acc.SnapshotDir = facts.SnapshotDir
	if acc.Via != ViaServer && err == nil {
		acc.Store = facts.store(acc)
	}
	return acc, err
}

// datastoreFacts is what the node shows about its datastore.
type datastoreFacts struct {
	// DBPath is server/db/state.db; DBExists whether it is a file;
	// DBOther is the type of something else at that path ("" for none).
	DBPath   string
	DBExists bool
	DBOther  string
	// SockLive says kine.sock answers; Running that k3s runs (the socket
	// answers, or the service manager says so).
	SockLive, Running bool
	// Embedded says server/db/etcd exists.
	Embedded bool
	// Etcd is the etcd client config to use: the operator's, the external
	// one of the k3s config, or the local one (kine.sock or embedded).
	Etcd datastore.EtcdConfig
	// Given says the operator gave etcd endpoints; FromConfig that they
	// come from datastore-endpoint in ConfigFile.
	Given, FromConfig bool
	// ExternalSQL says the k3s config names a datastore-endpoint that is
	// not etcd (an external SQL database behind kine).
	ExternalSQL bool
	ConfigFile  string
	// SnapshotDir is the embedded etcd's snapshot dir: etcd-snapshot-dir
	// of the k3s config, else server/db/snapshots.
	SnapshotDir string
}

// store says what holds the data behind acc: kine's socket stores in
// state.db or the external SQL database of the k3s config; etcd endpoints
// are the embedded etcd when server/db/etcd exists and every endpoint is
// on this host (and not from datastore-endpoint), else an external etcd.
func (f datastoreFacts) store(acc Access) Store {
	if acc.Via == ViaSQLite {
		return StoreSQLite
	}
	kine, local := len(acc.Etcd.Endpoints) > 0, true
	for _, ep := range acc.Etcd.Endpoints {
		kine = kine && strings.HasPrefix(ep, "unix://")
		local = local && isLoopbackEndpoint(ep)
	}
	switch {
	case kine && f.ExternalSQL:
		return StoreExternalSQL
	case kine && f.DBExists:
		return StoreSQLite
	case kine:
		return StoreUnknown
	case f.Embedded && local && !f.FromConfig:
		return StoreEmbeddedEtcd
	}
	return StoreExternalEtcd
}

// isLoopbackEndpoint reports whether an etcd client URL names this host.
func isLoopbackEndpoint(ep string) bool {
	u, err := url.Parse(ep)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// probeDatastore reads the node: files, the socket, the service state and
// the k3s config. It decides nothing.
func probeDatastore(ctx context.Context, in AccessInput) (datastoreFacts, error) {
	server := product.ServerDir(in.DataDir)
	f := datastoreFacts{DBPath: filepath.Join(server, filepath.FromSlash(pki.DatastoreFile)), ConfigFile: in.K3sConfig}
	f.DBExists = fsutil.FileExists(f.DBPath)
	if fi, err := os.Lstat(f.DBPath); err == nil && !f.DBExists {
		f.DBOther = fi.Mode().Type().String()
	}
	f.SockLive = kineSocketLive(server)
	f.Running = f.SockLive
	if in.Services != nil {
		if active, err := in.Services.IsActive(ctx, in.Product.ServerUnit()); err == nil && active {
			f.Running = true
		}
	}
	f.Embedded = fsutil.DirExists(filepath.Join(server, "db", "etcd"))
	external, err := node.ReadK3sDatastore(in.K3sConfig)
	if err != nil {
		return f, err
	}
	if !external.AppliesTo(in.DataDir, in.Product) {
		external = node.K3sDatastore{}
	}
	f.SnapshotDir = external.SnapshotDir
	if f.SnapshotDir == "" {
		f.SnapshotDir = filepath.Join(server, "db", "snapshots")
	}
	f.Given = len(in.Etcd.Endpoints) > 0
	f.FromConfig = !f.Given && len(external.EtcdEndpoints()) > 0
	f.ExternalSQL = external.Endpoint != "" && len(external.EtcdEndpoints()) == 0
	switch {
	case f.Given:
		f.Etcd = in.Etcd
	case f.FromConfig:
		f.Etcd = external.EtcdConfig()
	default:
		f.Etcd = datastore.EtcdConfigForDataDir(server, f.Embedded)
	}
	if in.Timeout > 0 {
		f.Etcd.DialTimeout = in.Timeout
	}
	return f, nil
}

// decideAccess is the choice of a datastore path from the node's facts and
// what the operator asked: no I/O.
func decideAccess(via Via, readOnly bool, f datastoreFacts) (Access, error) {
	switch via {
	case ViaSQLite:
		if f.Running && !readOnly {
			return Access{}, ErrK3sRunning
		}
		return Access{Via: ViaSQLite, SQLitePath: f.DBPath, Reason: "asked for --via sqlite"}, nil
	case ViaEtcd:
		return Access{Via: ViaEtcd, Etcd: f.Etcd, Reason: "asked for --via etcd"}, nil
	case ViaServer:
		return Access{Via: ViaServer, Reason: "asked for --via server"}, nil
	}
	switch {
	case f.Given:
		return Access{Via: ViaEtcd, Etcd: f.Etcd, Reason: "etcd endpoints were given"}, nil
	case f.FromConfig:
		return Access{Via: ViaEtcd, Etcd: f.Etcd, Reason: "external etcd from datastore-endpoint in " + f.ConfigFile}, nil
	case f.ExternalSQL && !f.SockLive:
		return Access{}, fmt.Errorf("%w: %s names an external SQL datastore; start k3s so k3sca can write through kine's socket", ErrNoDatastore, f.ConfigFile)
	case f.SockLive:
		return Access{Via: ViaEtcd, Etcd: f.Etcd, Reason: "kine.sock answers: k3s is running on SQLite/kine, writing through kine"}, nil
	case f.Embedded:
		return Access{Via: ViaEtcd, Etcd: f.Etcd, Reason: "server/db/etcd exists: embedded etcd at 127.0.0.1:2379"}, nil
	case f.DBExists && !f.Running:
		return Access{Via: ViaSQLite, SQLitePath: f.DBPath, Reason: "k3s is stopped and server/db/state.db exists: writing SQLite directly"}, nil
	case f.DBExists && readOnly:
		return Access{Via: ViaSQLite, SQLitePath: f.DBPath, Reason: "k3s is running: reading server/db/state.db read-only"}, nil
	case f.DBExists:
		return Access{}, ErrK3sRunning
	case f.DBOther != "":
		return Access{}, fmt.Errorf("%w: %s is not a regular file (%s)", ErrNoDatastore, f.DBPath, f.DBOther)
	}
	return Access{}, fmt.Errorf("%w: neither %s nor a kine socket or embedded etcd", ErrNoDatastore, f.DBPath)
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

// kineSocketLive reports whether something accepts connections on the
// server's kine socket, which means k3s (or kine) is running on it.
func kineSocketLive(serverDir string) bool {
	c, err := net.DialTimeout("unix", filepath.Join(serverDir, pki.KineSocket), 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
