package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/product"
)

// SandboxMarker, in a data dir, marks it as made by `k3sca sandbox`; only
// such a dir gets the sandbox's simulated service manager and restart.
const SandboxMarker = ".k3sca-sandbox"

// ErrNotSandbox refuses a sandbox operation on a data dir that is not one.
var ErrNotSandbox = errors.New("not a k3sca sandbox data dir; a simulated restart never touches a real k3s data dir")

// ErrNewerOnDisk is k3s's refusal to start when a bootstrap file on disk
// differs from the datastore's and is at least 3 s newer (spec 4.4); the
// sandbox's simulated start returns it as k3s logs it.
var ErrNewerOnDisk = errors.New("newer than datastore and could cause a cluster outage. Remove the file(s) from disk and restart to be recreated from datastore")

// IsSandbox reports whether dataDir was made by `k3sca sandbox`.
func IsSandbox(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, SandboxMarker))
	return err == nil
}

// SandboxRoot is the dir that stands for / on a sandbox node: a cluster
// node's root, whose data dir is <root>/var/lib/rancher/<product> and whose
// etc/rancher/<product> holds its config.yaml, else the dir that holds the
// data dir (<dir> of `k3sca sandbox --dir`, whose data dir is <dir>/data).
func SandboxRoot(dataDir string, p product.Product) string {
	clean := filepath.Clean(dataDir)
	if suffix := filepath.FromSlash(p.DefaultDataDir()); strings.HasSuffix(clean, suffix) {
		return strings.TrimSuffix(clean, suffix)
	}
	return filepath.Dir(clean)
}
