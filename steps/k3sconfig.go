package steps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// k3sDatastore is the datastore part of a k3s server config file.
type k3sDatastore struct {
	DataDir  string `yaml:"data-dir"`
	Endpoint string `yaml:"datastore-endpoint"`
	CAFile   string `yaml:"datastore-cafile"`
	CertFile string `yaml:"datastore-certfile"`
	KeyFile  string `yaml:"datastore-keyfile"`
	// SnapshotDir is where k3s keeps embedded etcd snapshots ("": the
	// default server/db/snapshots).
	SnapshotDir string `yaml:"etcd-snapshot-dir"`
}

// readK3sDatastore reads the datastore-* keys of a k3s config file. A
// missing file is no error; drop-ins in config.yaml.d are not read.
func readK3sDatastore(path string) (k3sDatastore, error) {
	var ds k3sDatastore
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

// appliesTo reports whether the config file describes the server of
// dataDir: its data-dir (default the product's) is that dir. A config for
// another data dir, such as the real cluster's next to a sandbox, is ignored.
func (ds k3sDatastore) appliesTo(dataDir string, p product.Product) bool {
	own := ds.DataDir
	if own == "" {
		own = p.DefaultDataDir()
	}
	return fsutil.IsWithin(dataDir, own) && fsutil.IsWithin(own, dataDir)
}

// etcdEndpoints returns the endpoints of an external etcd
// datastore-endpoint ("https://a:2379,https://b:2379"), or nil when the
// endpoint is a SQL DSN or empty.
func (ds k3sDatastore) etcdEndpoints() []string {
	var out []string
	for _, e := range strings.Split(ds.Endpoint, ",") {
		e = strings.TrimSpace(e)
		if strings.HasPrefix(e, "https://") || strings.HasPrefix(e, "http://") {
			out = append(out, e)
		}
	}
	return out
}

// etcdConfig is the client config for an external etcd datastore.
func (ds k3sDatastore) etcdConfig() datastore.EtcdConfig {
	return datastore.EtcdConfig{Endpoints: ds.etcdEndpoints(), CAFile: ds.CAFile, CertFile: ds.CertFile, KeyFile: ds.KeyFile}
}
