package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Node roles as NodeFacts reports them.
const (
	RoleServer = "server"
	RoleAgent  = "agent"
	RoleNone   = "none"
)

// NodeFacts is what k3sca can tell about the node before any flow runs,
// every field in words for the operator.
type NodeFacts struct {
	// DataDir is the data dir looked at; DataDirSource says where it came
	// from (ResolveDataDir's source). DetectNode leaves the source to the
	// caller, which resolved the dir.
	DataDir, DataDirSource string
	// Role is RoleServer when <data-dir>/server/tls exists, RoleAgent when
	// only <data-dir>/agent does, else RoleNone.
	Role string
	// Datastore is "sqlite (server/db/state.db)", "kine socket", "embedded
	// etcd", "external etcd", "external SQL", "none" or "unknown: <why>".
	Datastore string
	// ServiceState is "running", "stopped" or "unknown: <why>" for the
	// role's unit (the server unit when the role is none).
	ServiceState string
	// Init is the service manager's Name(), or "none".
	Init string
	// CAHash is the join-token CA hash (hex) of server/tls/server-ca.crt, or
	// "" when there is none or it does not parse.
	CAHash string
	// Sandbox is true for a data dir made by `k3sca sandbox`.
	Sandbox bool
	// K3sVersion is the k3s version found (DetectK3sVersion):
	// "v1.36.3+k3s1", or "unknown: <what was tried>".
	K3sVersion string
}

// DetectNode describes the node of env.DataDir. It never fails: what it
// cannot find out is described in the field instead.
func DetectNode(ctx context.Context, env Env) NodeFacts {
	env = env.WithDefaults()
	server := product.ServerDir(env.DataDir)
	f := NodeFacts{DataDir: env.DataDir, Role: RoleNone, Datastore: "none", Init: "none", Sandbox: node.IsSandbox(env.DataDir)}
	switch {
	case dirExists(filepath.Join(server, "tls")):
		f.Role = RoleServer
	case dirExists(filepath.Join(env.DataDir, "agent")):
		f.Role = RoleAgent
	}
	if f.Role == RoleServer {
		f.Datastore = describeDatastore(ctx, env)
		if b, err := os.ReadFile(pki.ServerCAPath(server)); err == nil {
			if h, err := pki.HashCA(b, env.Now()); err == nil {
				f.CAHash = h.Hex
			}
		}
	}
	f.ServiceState = "unknown: no service manager"
	if env.Services != nil {
		f.Init = env.Services.Name()
		unit := env.Product.ServerUnit()
		if f.Role == RoleAgent {
			unit = env.Product.AgentUnit()
		}
		f.ServiceState = describeService(ctx, env.Services, unit)
	}
	k := env.K3s
	if k == nil {
		k = DetectK3sVersion(ctx, env)
	}
	f.K3sVersion = k.Version
	if k.Version == "" {
		f.K3sVersion = "unknown: " + k.Unknown
	}
	return f
}

func describeService(ctx context.Context, s node.ServiceManager, unit string) string {
	active, err := s.IsActive(ctx, unit)
	switch {
	case err != nil:
		return "unknown: " + err.Error()
	case active:
		return "running"
	}
	return "stopped"
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
		if ds, rerr := readK3sDatastore(in.K3sConfig); rerr == nil && ds.Endpoint != "" && ds.appliesTo(in.DataDir, in.Product) {
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
	case len(eps) == 1 && eps[0] == datastore.EmbeddedEtcdEndpoint && dirExists(filepath.Join(product.ServerDir(in.DataDir), "db", "etcd")):
		return "embedded etcd"
	}
	return "external etcd"
}

// ResolveDataDir finds the data dir the way k3s does: the flag wins; else
// the last data-dir (or -d) in <configDir>/config.yaml and then its drop-ins
// <configDir>/config.yaml.d/*.yaml|*.yml in lexical order; else the
// product's default. configDir "" is /etc/rancher/<product>. source says
// which one for the operator.
func ResolveDataDir(p product.Product, flag string, configDir string) (dir, source string, err error) {
	if flag != "" {
		return flag, "--data-dir flag", nil
	}
	if configDir == "" {
		configDir = filepath.Dir(p.ConfigFile())
	}
	files, err := k3sConfigFiles(filepath.Join(configDir, "config.yaml"))
	if err != nil {
		return "", "", err
	}
	for _, file := range files {
		v, ok, err := configDataDir(file)
		if err != nil {
			return "", "", err
		}
		if ok {
			dir, source = v, "data-dir in "+file
		}
	}
	if dir != "" {
		return dir, source, nil
	}
	return p.DefaultDataDir(), "default for " + p.Name(), nil
}

// k3sConfigFiles lists the config file, when it exists, then its drop-ins
// as k3s reads them (pkg/configfilearg dotDFiles): the .yaml and .yml files
// of <file>.d, case-insensitive, in name order.
func k3sConfigFiles(file string) ([]string, error) {
	var files []string
	if _, err := os.Stat(file); err == nil {
		files = append(files, file)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("k3s config: %w", err)
	}
	entries, err := os.ReadDir(file + ".d")
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, fmt.Errorf("k3s config drop-ins: %w", err)
	}
	for _, e := range entries {
		name := strings.ToLower(e.Name())
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		files = append(files, filepath.Join(file+".d", e.Name()))
	}
	return files, nil
}

// configDataDir returns the last data-dir of one k3s config file. Like
// k3s's parser it takes the keys in order, so a repeated key wins, and the
// append form "data-dir+" counts as the key.
func configDataDir(file string) (string, bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false, fmt.Errorf("read k3s config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", false, fmt.Errorf("k3s config %s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return "", false, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return "", false, fmt.Errorf("k3s config %s: not a mapping of flags to values", file)
	}
	var dir string
	var found bool
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch strings.TrimSuffix(m.Content[i].Value, "+") {
		case "data-dir", "d":
			dir, found = m.Content[i+1].Value, true
		}
	}
	return dir, found, nil
}
