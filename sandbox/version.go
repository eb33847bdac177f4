package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/product"
)

// sandboxProgramDir, in a sandbox data dir, holds the simulated k3s (or
// rke2) binary: a shell script that answers --version as the real binary
// does, so the version preflight runs on a sandbox as on a node.
const sandboxProgramDir = ".k3sca-bin"

// Version is the version a new sandbox's simulated binary reports:
// the k3s release the compatibility spec was read against.
func Version(p product.Product) string {
	if p.Name() == product.RKE2.Name() {
		return "v1.36.3+rke2r1"
	}
	return "v1.36.3+k3s1"
}

// Program is the simulated binary of the sandbox data dir.
func Program(dataDir string, p product.Product) string {
	return filepath.Join(dataDir, sandboxProgramDir, p.Name())
}

// SetVersion writes the sandbox's simulated binary, reporting tag
// (a k3s or rke2 release tag) in the format of `k3s --version`.
func SetVersion(dataDir string, p product.Product, tag string, mtime time.Time) error {
	v, err := k3sver.Parse(tag)
	if err != nil {
		return fmt.Errorf("sandbox version: %w", err)
	}
	if v.Product != p.Name() {
		return fmt.Errorf("sandbox version %s is not a %s version", tag, p.Name())
	}
	script := fmt.Sprintf("#!/bin/sh\n"+
		"# k3sca sandbox: stands in for the %[1]s binary; it only answers --version.\n"+
		"case \"$1\" in\n"+
		"--version|-v) printf '%%s\\n' '%[1]s version %[2]s (sandbox)' 'go version go1.26.5' ;;\n"+
		"*) echo 'k3sca sandbox: not %[1]s; only --version is simulated' >&2; exit 1 ;;\n"+
		"esac\n", p.Name(), v.String())
	path := Program(dataDir, p)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("sandbox binary: %w", err)
	}
	if err := fsutil.WriteFile(path, []byte(script), 0o755, mtime); err != nil {
		return fmt.Errorf("sandbox binary: %w", err)
	}
	return nil
}

// UnitProgram implements ProgramLocator: the sandbox's simulated binary.
func (s *Services) UnitProgram(_ context.Context, unit string) (string, string, error) {
	p, ok := s.serverProduct(unit)
	if !ok {
		return "", "", s.unknownUnit(unit)
	}
	return sandboxProgram(s.DataDir, p)
}

// UnitProgram is the simulated binary of a sandbox cluster's agent.
func (a *sandboxAgent) UnitProgram(_ context.Context, unit string) (string, string, error) {
	if unit != a.product.AgentUnit() {
		return "", "", fmt.Errorf("sandbox agent %s runs %s, not %s", a.node.Name, a.product.AgentUnit(), unit)
	}
	return sandboxProgram(a.node.DataDir, a.product)
}

// sandboxProgram is the simulated binary of the sandbox data dir, if it
// has one.
func sandboxProgram(dataDir string, p product.Product) (string, string, error) {
	path := Program(dataDir, p)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("sandbox %s has no simulated %s binary (made before k3sca simulated one)", dataDir, p.Name())
	} else if err != nil {
		return "", "", err
	}
	return path, "the sandbox's simulated " + p.Name() + " binary", nil
}
