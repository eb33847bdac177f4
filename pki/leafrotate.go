package pki

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	pl := &LeafRotationPlan{DataDir: dataDir, AgentOnly: len(services) == 0 && !serverDir}
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
		if err := fsutil.WriteFile(trigger, nil, fsutil.ModeSecret); err != nil {
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
		if err := copyTree(ctx, pl.TLSDir, pl.BackupDir); err != nil {
			return err
		}
	} else if err := os.MkdirAll(pl.BackupDir, fsutil.ModeDir); err != nil {
		return fmt.Errorf("create backup dir: %w", err)
	}
	for _, f := range pl.AgentFiles {
		if err := copyFile(f, filepath.Join(pl.BackupDir, filepath.Base(f))); err != nil &&
			!errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// copyTree copies src to the new dir dst, preserving permission bits. It
// fails on symlinks and special files instead of following them.
func copyTree(ctx context.Context, src, dst string) error {
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", p, err)
			}
			if err := os.Mkdir(target, 0o700); err != nil {
				return fmt.Errorf("create %s: %w", target, err)
			}
			dirs = append(dirs, dirMode{target, fi.Mode().Perm()})
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: %w", p, fsutil.ErrSymlink)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", p)
		}
		return copyFile(p, target)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dirs[i].path, err)
		}
	}
	return nil
}

// copyFile copies a regular file to a new path with the same permission
// bits, refusing to follow a symlink at either end.
func copyFile(src, dst string) error {
	lfi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if lfi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s: %w", src, fsutil.ErrSymlink)
	}
	if !lfi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if !os.SameFile(lfi, fi) {
		return fmt.Errorf("%s changed while being copied", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		_ = out.Close()
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dst, err)
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
