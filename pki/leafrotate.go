package pki

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// ErrProtectedFile is returned when a leaf rotation would remove a CA,
// bootstrap or derived file.
var ErrProtectedFile = errors.New("refusing to remove a CA or bootstrap file")

// LeafRotationPlan is what `k3s certificate rotate` would do, as data, with
// one deliberate difference in the backup layout: the agent's files get their
// own folder, so that a server's and its agent's files of the same name
// (client-k3s-controller.key, client-kube-proxy.key, client-kubelet.key,
// serving-kubelet.key) both survive. k3s copies them by base name into the
// copy of the tls dir, overwriting the server's.
//
// Backup layout written by Apply:
//
//	server dir present:  D/tls-<unix>/         whole copy of D/tls
//	                     D/tls-<unix>/agent/   the AgentFiles, by base name
//	agent only:          A/tls-<unix>/         the AgentFiles, by base name (as k3s)
//
// where D is <data-dir>/server and A is <data-dir>/agent. Modes and mtimes
// are kept (private keys stay 0600); the agent folder is created 0700.
type LeafRotationPlan struct {
	// DataDir is the k3s data dir.
	DataDir string
	// Services are the resolved service names, in the order given (or table order).
	Services []string
	// AgentOnly is set when no service was named and the server dir is absent
	// ("Agent detected"), so only the agent services were selected.
	AgentOnly bool
	// BackupDir is the new directory that receives the backup: D/tls-<unix>
	// when D/tls exists, else A/tls-<unix>. Apply refuses to run when it
	// already exists, so two rotations never merge into one backup.
	BackupDir string
	// TLSDir is D/tls when it exists; it is copied whole into BackupDir.
	// It is "" on an agent-only node.
	TLSDir string
	// AgentBackupDir is where the AgentFiles are copied, by base name: a new
	// folder BackupDir/agent when TLSDir is set (BackupDir/agent-1, -2, ...
	// if D/tls itself holds an "agent" entry), BackupDir itself on an
	// agent-only node. It is "" when there are no AgentFiles.
	AgentBackupDir string
	// AgentFiles are the existing files under A that are backed up and
	// removed; all lie directly in A, so their base names are distinct.
	AgentFiles []string
	// Files are every file of the selected services, present or not, in
	// table order; Remove are those present.
	Files []string
	// Remove lists the absolute paths of existing files to delete.
	Remove []string
	// Regenerate writes D/tls/dynamic-cert-regenerate (mode 0600).
	Regenerate bool
	// Now is the time of the plan: it names the backup dir and stamps the
	// files Apply writes.
	Now time.Time
}

// BackupCopy is one copy Apply makes before it removes anything.
type BackupCopy struct {
	// From is the source: a directory copied whole when Dir is set, else a file.
	From string
	// To is the new path of the copy.
	To string
	// Dir marks the copy of a whole directory.
	Dir bool
}

// Backups lists, in order, the copies Apply makes: the whole tls dir (when
// there is one), then each agent file into AgentBackupDir. A preview can show
// exactly where every file goes.
func (pl *LeafRotationPlan) Backups() []BackupCopy {
	var out []BackupCopy
	if pl.TLSDir != "" {
		out = append(out, BackupCopy{From: pl.TLSDir, To: pl.BackupDir, Dir: true})
	}
	for _, f := range pl.AgentFiles {
		out = append(out, BackupCopy{From: f, To: filepath.Join(pl.AgentBackupDir, filepath.Base(f))})
	}
	return out
}

// agentBackupName is the folder of a server backup that holds the agent's files.
const agentBackupName = "agent"

// PlanLeafRotation resolves services (empty: all when the server dir exists,
// the agent services otherwise) into the files `k3s certificate rotate` backs
// up and removes, on this machine. now names the backup dir.
func PlanLeafRotation(p product.Product, dataDir string, services []string, now time.Time) (*LeafRotationPlan, error) {
	return PlanLeafRotationOn(p, dataDir, services, now, LocalLstat)
}

// Lstat says what is at a path of a node without following a final
// symlink: nothing (exists false, no error), a directory, or another
// entry. LocalLstat is this machine's; a rollout passes a node's.
type Lstat func(path string) (exists, dir bool, err error)

// LocalLstat is Lstat on this machine.
func LocalLstat(path string) (bool, bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, fi.IsDir(), nil
}

// PlanLeafRotationOn is PlanLeafRotation on the node whose paths lstat
// describes: one plan for this machine and for every node of a rollout.
func PlanLeafRotationOn(p product.Product, dataDir string, services []string, now time.Time, lstat Lstat) (*LeafRotationPlan, error) {
	if dataDir == "" {
		return nil, errors.New("plan leaf rotation: data dir is empty")
	}
	svcs, serverDir, err := selectServices(p, dataDir, services, lstat)
	if err != nil {
		return nil, fmt.Errorf("plan leaf rotation: %w", err)
	}
	d := product.ServerDir(dataDir)
	agentDir := AgentDir(dataDir)
	pl := &LeafRotationPlan{DataDir: dataDir, AgentOnly: len(services) == 0 && !serverDir, Now: now}
	backupName := LeafBackupName(now)
	pl.BackupDir = filepath.Join(agentDir, backupName)
	tls := filepath.Join(d, TLSDir)
	if ok, dir, err := lstat(tls); err != nil {
		return nil, fmt.Errorf("plan leaf rotation: %w", err)
	} else if ok && dir {
		pl.TLSDir, pl.BackupDir = tls, filepath.Join(d, backupName)
	} else if ok {
		return nil, fmt.Errorf("plan leaf rotation: %s is not a directory", tls)
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
			pl.Files = append(pl.Files, path)
			if ok, _, err := lstat(path); err != nil {
				return nil, fmt.Errorf("plan leaf rotation: %w", err)
			} else if !ok {
				continue
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
	if len(pl.AgentFiles) > 0 {
		pl.AgentBackupDir = pl.BackupDir
		if pl.TLSDir != "" {
			name, err := freeName(pl.TLSDir, agentBackupName, lstat)
			if err != nil {
				return nil, fmt.Errorf("plan leaf rotation: %w", err)
			}
			pl.AgentBackupDir = filepath.Join(pl.BackupDir, name)
		}
	}
	return pl, nil
}

// LeafBackupName is the name of a leaf rotation's backup dir made at now,
// "tls-<unix>", as k3s names it.
func LeafBackupName(now time.Time) string { return fmt.Sprintf("tls-%d", now.Unix()) }

// LeafBackupTime is the time a leaf backup dir's name (LeafBackupName)
// holds; ok is false for any other name (a hidden partial copy among
// them).
func LeafBackupTime(name string) (t time.Time, ok bool) {
	digits, found := strings.CutPrefix(name, "tls-")
	if !found || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return time.Time{}, false
	}
	u, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(u, 0).UTC(), true
}

// freeName is base, or base-1, base-2, ... : the first name that is not an
// entry of dir, so that the agent folder of a backup never lands on a file
// copied from the tls dir.
func freeName(dir, base string, lstat Lstat) (string, error) {
	name := base
	for i := 1; ; i++ {
		ok, _, err := lstat(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("check %s: %w", filepath.Join(dir, name), err)
		}
		if !ok {
			return name, nil
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
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
	if err := pl.checkAgentBackupDir(); err != nil {
		return fmt.Errorf("rotate leaves: %w", err)
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
		if _, err := WriteRegenerateTrigger(product.ServerDir(pl.DataDir), pl.Now); err != nil {
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

// backup makes the copies of Backups. Every copy creates a new file (never
// overwriting one), so a name clash is an error and nothing is lost.
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
	if len(pl.AgentFiles) == 0 {
		return nil
	}
	if pl.AgentBackupDir != pl.BackupDir {
		// A new folder: an existing one (D/tls gained an "agent" entry since
		// the plan) is an error rather than a merge.
		if err := os.Mkdir(pl.AgentBackupDir, fsutil.ModeDir); err != nil {
			return fmt.Errorf("create agent backup dir: %w", err)
		}
	}
	for _, f := range pl.AgentFiles {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fsutil.CopyFile(f, filepath.Join(pl.AgentBackupDir, filepath.Base(f))); err != nil &&
			!errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// checkAgentBackupDir refuses a plan whose agent files have no place of
// their own: BackupDir itself only without a tls copy, else a folder directly
// inside BackupDir.
func (pl *LeafRotationPlan) checkAgentBackupDir() error {
	if len(pl.AgentFiles) == 0 {
		return nil
	}
	switch a := filepath.Clean(pl.AgentBackupDir); {
	case pl.AgentBackupDir == "":
		return errors.New("plan has agent files but no agent backup dir")
	case pl.TLSDir == "" && a == filepath.Clean(pl.BackupDir):
	case pl.TLSDir != "" && filepath.Dir(a) == filepath.Clean(pl.BackupDir):
	default:
		return fmt.Errorf("agent backup dir %s does not fit backup dir %s", pl.AgentBackupDir, pl.BackupDir)
	}
	return nil
}

// selectServices resolves service names with k3s's default: all services
// when the server dir exists, the agent services otherwise. It also reports
// whether the server dir exists.
func selectServices(p product.Product, dataDir string, names []string, lstat Lstat) ([]Service, bool, error) {
	serverDir, _, err := lstat(product.ServerDir(dataDir))
	if err != nil {
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
