package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// K3sDatastore is the datastore part of a k3s server config file.
type K3sDatastore struct {
	// DataDir is data-dir ("": the product's default).
	DataDir string `yaml:"data-dir"`
	// Endpoint is datastore-endpoint: etcd URLs or a SQL DSN.
	Endpoint string `yaml:"datastore-endpoint"`
	// CAFile, CertFile and KeyFile are the datastore client's TLS files.
	CAFile   string `yaml:"datastore-cafile"`
	CertFile string `yaml:"datastore-certfile"`
	KeyFile  string `yaml:"datastore-keyfile"`
	// SnapshotDir is where k3s keeps embedded etcd snapshots ("": the
	// default server/db/snapshots).
	SnapshotDir string `yaml:"etcd-snapshot-dir"`
}

// ReadK3sDatastore reads the datastore-* keys of a k3s config file. A
// missing file (or path "") is no error; drop-ins in config.yaml.d are not
// read.
func ReadK3sDatastore(path string) (K3sDatastore, error) {
	var ds K3sDatastore
	if path == "" {
		return ds, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ds, nil
	}
	if err != nil {
		return ds, fmt.Errorf("read k3s config: %w", err)
	}
	if err := yaml.Unmarshal(b, &ds); err != nil {
		return ds, fmt.Errorf("k3s config %s: %w", path, err)
	}
	return ds, nil
}

// AppliesTo reports whether the config file describes the server of
// dataDir: its data-dir (default the product's) is that dir. A config for
// another data dir, such as the real cluster's next to a sandbox, is ignored.
func (ds K3sDatastore) AppliesTo(dataDir string, p product.Product) bool {
	own := ds.DataDir
	if own == "" {
		own = p.DefaultDataDir()
	}
	return fsutil.IsWithin(dataDir, own) && fsutil.IsWithin(own, dataDir)
}

// EtcdEndpoints returns the endpoints of an external etcd
// datastore-endpoint ("https://a:2379,https://b:2379"), or nil when the
// endpoint is a SQL DSN or empty.
func (ds K3sDatastore) EtcdEndpoints() []string {
	var out []string
	for _, e := range strings.Split(ds.Endpoint, ",") {
		e = strings.TrimSpace(e)
		if strings.HasPrefix(e, "https://") || strings.HasPrefix(e, "http://") {
			out = append(out, e)
		}
	}
	return out
}

// EtcdConfig is the client config for an external etcd datastore.
func (ds K3sDatastore) EtcdConfig() datastore.EtcdConfig {
	return datastore.EtcdConfig{Endpoints: ds.EtcdEndpoints(), CAFile: ds.CAFile, CertFile: ds.CertFile, KeyFile: ds.KeyFile}
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
