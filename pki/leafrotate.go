package pki

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// ErrProtectedFile is returned when a leaf rotation would remove a CA,
// bootstrap or derived file.
var ErrProtectedFile = errors.New("refusing to remove a CA or bootstrap file")

// LeafRotationPlan is what `k3s certificate rotate` would do, as data.
type LeafRotationPlan struct {
	// DataDir is the k3s data dir.
	DataDir string
	// Services are the resolved service names, in the order given (or table order).
	Services []string
	// AgentOnly is set when no service was named and the server dir is absent
	// ("Agent detected"), so only the agent services were selected.
	AgentOnly bool
	// BackupDir is D/tls-<unix> when D/tls exists, else <data-dir>/agent/tls-<unix>.
	BackupDir string
	// TLSDir is D/tls when it exists and is copied whole into BackupDir; else "".
	TLSDir string
	// AgentFiles are existing files under <data-dir>/agent copied by base name into BackupDir.
	AgentFiles []string
	// Remove lists the absolute paths of existing files to delete.
	Remove []string
	// Regenerate writes D/tls/dynamic-cert-regenerate (mode 0600).
	Regenerate bool
	// Now is the time of the plan: it names the backup dir and stamps the
	// files Apply writes.
	Now time.Time
}

// PlanLeafRotation resolves services (empty: all when the server dir exists,
// the agent services otherwise) into the files `k3s certificate rotate` backs
// up and removes. now names the backup dir.
func PlanLeafRotation(p product.Product, dataDir string, services []string, now time.Time) (*LeafRotationPlan, error) {
	if dataDir == "" {
		return nil, errors.New("plan leaf rotation: data dir is empty")
	}
	svcs, serverDir, err := selectServices(p, dataDir, services)
	if err != nil {
		return nil, fmt.Errorf("plan leaf rotation: %w", err)
	}
	d := product.ServerDir(dataDir)
	agentDir := filepath.Join(dataDir, "agent")
	pl := &LeafRotationPlan{DataDir: dataDir, AgentOnly: len(services) == 0 && !serverDir, Now: now}
	backupName := fmt.Sprintf("tls-%d", now.Unix())
	pl.BackupDir = filepath.Join(agentDir, backupName)
	tls := filepath.Join(d, TLSDir)
	if fi, err := os.Lstat(tls); err == nil && fi.IsDir() {
		pl.TLSDir, pl.BackupDir = tls, filepath.Join(d, backupName)
	} else if err == nil {
		return nil, fmt.Errorf("plan leaf rotation: %s is not a directory", tls)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("plan leaf rotation: %w", err)
	}
	protected := protectedFiles(d)
	seen := map[string]bool{}
	for _, s := range svcs {
		pl.Services = append(pl.Services, s.Name)
		pl.Regenerate = pl.Regenerate || s.Regenerate
		for _, f := range s.Files {
			path := f.Abs(dataDir)
			if protected[path] {
				return nil, fmt.Errorf("plan leaf rotation: %s: %w", path, ErrProtectedFile)
			}
			if seen[path] {
				continue
			}
			seen[path] = true
			if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("plan leaf rotation: %w", err)
			}
			pl.Remove = append(pl.Remove, path)
			if f.Agent {
				pl.AgentFiles = append(pl.AgentFiles, path)
			}
		}
	}
	if pl.Regenerate && !serverDir {
		return nil, fmt.Errorf("plan leaf rotation: service %s needs the server dir %s", p.Name()+"-server", d)
	}
	return pl, nil
}

// protectedFiles are the bootstrap and derived files of a server dir.
func protectedFiles(d string) map[string]bool {
	m := map[string]bool{}
	for _, f := range BootstrapFields {
		m[f.Abs(d)] = true
	}
	for _, rel := range DerivedFiles() {
		m[filepath.Join(d, filepath.FromSlash(rel))] = true
	}
	return m
}

// Apply backs up, writes the regenerate trigger and removes the planned files.
// Symlinks inside the tls dir or among the agent files are refused before
// anything is written. A file that vanished meanwhile is not an error.
func (pl *LeafRotationPlan) Apply(ctx context.Context) error {
	protected := protectedFiles(product.ServerDir(pl.DataDir))
	for _, p := range pl.Remove {
		if protected[filepath.Clean(p)] {
			return fmt.Errorf("rotate leaves: %s: %w", p, ErrProtectedFile)
		}
	}
	if pl.TLSDir != "" {
		if err := fsutil.RefuseSymlinks(pl.TLSDir); err != nil {
			return fmt.Errorf("rotate leaves: back up %s: %w", pl.TLSDir, err)
		}
	}
	for _, f := range pl.AgentFiles {
		if fi, err := os.Lstat(f); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("rotate leaves: back up %s: %w", f, fsutil.ErrSymlink)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rotate leaves: %w", err)
	}
	if err := pl.backup(ctx); err != nil {
		return fmt.Errorf("rotate leaves: back up to %s: %w", pl.BackupDir, err)
	}
	if pl.Regenerate {
		trigger := filepath.Join(product.ServerDir(pl.DataDir), filepath.FromSlash(DynamicCertRegenerate))
		if err := fsutil.WriteFile(trigger, nil, fsutil.ModeSecret, pl.Now); err != nil {
			return fmt.Errorf("rotate leaves: %w", err)
		}
	}
	var errs []error
	for _, p := range pl.Remove {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rotate leaves: %w", err)
	}
	return nil
}

func (pl *LeafRotationPlan) backup(ctx context.Context) error {
	if _, err := os.Lstat(pl.BackupDir); err == nil {
		return fmt.Errorf("%s: %w", pl.BackupDir, fs.ErrExist)
	}
	if pl.TLSDir != "" {
		if err := fsutil.CopyDir(ctx, pl.TLSDir, pl.BackupDir); err != nil {
			return err
		}
	} else if err := os.MkdirAll(pl.BackupDir, fsutil.ModeDir); err != nil {
		return fmt.Errorf("create backup dir: %w", err)
	}
	for _, f := range pl.AgentFiles {
		if err := fsutil.CopyFile(f, filepath.Join(pl.BackupDir, filepath.Base(f))); err != nil &&
			!errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// selectServices resolves service names with k3s's default: all services
// when the server dir exists, the agent services otherwise. It also reports
// whether the server dir exists.
func selectServices(p product.Product, dataDir string, names []string) ([]Service, bool, error) {
	serverDir := true
	if _, err := os.Stat(product.ServerDir(dataDir)); errors.Is(err, fs.ErrNotExist) {
		serverDir = false
	} else if err != nil {
		return nil, false, fmt.Errorf("stat server dir: %w", err)
	}
	services, err := LookupServices(p, names)
	if err != nil {
		return nil, serverDir, err
	}
	if len(names) == 0 && !serverDir {
		var agent []Service
		for _, s := range services {
			if !s.Server {
				agent = append(agent, s)
			}
		}
		services = agent
	}
	return services, serverDir, nil
}
