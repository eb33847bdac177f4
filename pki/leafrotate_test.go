package pki

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

// tcRotateFixture writes a server dir with CA files, a few leaf pairs, a
// kubelet legacy key, an unrelated file in a 0750 subdir, and agent certs.
func tcRotateFixture(t *testing.T, server bool) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "server")
	if server {
		for _, f := range BootstrapFields {
			mode := os.FileMode(0o600)
			if f.Kind == KindCert {
				mode = 0o644
			}
			tcWrite(t, d, f.Path, []byte("bootstrap "+f.Name+"\n"), mode)
		}
		tcWrite(t, d, "tls/client-admin.crt", []byte("admin crt\n"), 0o644)
		tcWrite(t, d, "tls/client-admin.key", []byte("admin key\n"), 0o600)
		tcWrite(t, d, "tls/etcd/client.crt", []byte("etcd client\n"), 0o644)
		tcWrite(t, d, "tls/serving-kubelet.key", []byte("kubelet key\n"), 0o600)
		tcWrite(t, d, "tls/temporary-certs/apiserver-loopback-client__.crt", []byte("x\n"), 0o640)
		if err := os.Chmod(filepath.Join(d, "tls/temporary-certs"), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	tcWrite(t, dir, "agent/client-kubelet.crt", []byte("agent kubelet crt\n"), 0o644)
	tcWrite(t, dir, "agent/client-kubelet.key", []byte("agent kubelet key\n"), 0o600)
	return dir
}

func TestLeafRotatePlan(t *testing.T) {
	server := tcRotateFixture(t, true)
	agent := tcRotateFixture(t, false)
	sd := func(rel string) string { return filepath.Join(server, "server", filepath.FromSlash(rel)) }
	tests := []struct {
		name       string
		p          product.Product
		dir        string
		services   []string
		wantSvcs   []string
		wantRemove []string
		wantBackup string
		agentOnly  bool
		regen      bool
		wantErr    string
	}{
		{
			name: "server default: all services", dir: server,
			wantSvcs: ServiceNames(product.K3s),
			wantRemove: []string{sd("tls/client-admin.crt"), sd("tls/client-admin.key"), sd("tls/etcd/client.crt"),
				sd("tls/serving-kubelet.key"), filepath.Join(server, "agent/client-kubelet.crt"), filepath.Join(server, "agent/client-kubelet.key")},
			wantBackup: sd("tls-1780315200"), regen: true,
		},
		{
			name: "selected, in the given order", dir: server, services: []string{"k3s-server", "admin"},
			wantSvcs: []string{"k3s-server", "admin"}, wantRemove: []string{sd("tls/client-admin.crt"), sd("tls/client-admin.key")},
			wantBackup: sd("tls-1780315200"), regen: true,
		},
		{
			name: "agent detected", dir: agent, agentOnly: true,
			wantSvcs:   []string{"k3s-controller", "kube-proxy", "kubelet"},
			wantRemove: []string{filepath.Join(agent, "agent/client-kubelet.crt"), filepath.Join(agent, "agent/client-kubelet.key")},
			wantBackup: filepath.Join(agent, "agent/tls-1780315200"),
		},
		{name: "k3s-server on an agent", dir: agent, services: []string{"k3s-server"}, wantErr: "needs the server dir"},
		{name: "unknown service", dir: server, services: []string{"kubelet", "bogus"}, wantErr: "service bogus is not recognized (valid: admin, api-server,"},
		{name: "certificate-authority is not accepted", dir: server, services: []string{"certificate-authority"}, wantErr: "is not recognized"},
		{name: "rke2 names", p: product.RKE2, dir: server, services: []string{"rke2-server"}, wantSvcs: []string{"rke2-server"}, wantBackup: sd("tls-1780315200"), regen: true},
		{name: "k3s name under rke2", p: product.RKE2, dir: server, services: []string{"k3s-server"}, wantErr: "is not recognized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := PlanLeafRotation(tt.p, tt.dir, tt.services, tcEpoch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pl.Services, tt.wantSvcs) {
				t.Errorf("Services = %v, want %v", pl.Services, tt.wantSvcs)
			}
			if !reflect.DeepEqual(pl.Remove, tt.wantRemove) {
				t.Errorf("Remove = %q\nwant %q", pl.Remove, tt.wantRemove)
			}
			if pl.BackupDir != tt.wantBackup || pl.AgentOnly != tt.agentOnly || pl.Regenerate != tt.regen {
				t.Errorf("BackupDir %s AgentOnly %v Regenerate %v", pl.BackupDir, pl.AgentOnly, pl.Regenerate)
			}
		})
	}
}

func tcRead(t *testing.T, p string) (string, fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fi.Mode().Perm()
}

func TestLeafRotateApply(t *testing.T) {
	dir := tcRotateFixture(t, true)
	d := filepath.Join(dir, "server")
	pl, err := PlanLeafRotation(product.K3s, dir, nil, tcEpoch)
	if err != nil {
		t.Fatal(err)
	}
	// a planned file that vanished before Apply is not an error
	if err := os.Remove(filepath.Join(d, "tls/etcd/client.crt")); err != nil {
		t.Fatal(err)
	}
	if err := pl.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range pl.Remove {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	for _, f := range BootstrapFields {
		if got, _ := tcRead(t, f.Abs(d)); got != "bootstrap "+f.Name+"\n" {
			t.Errorf("bootstrap file %s changed", f.Path)
		}
	}
	if got, mode := tcRead(t, filepath.Join(d, DynamicCertRegenerate)); got != "" || mode != 0o600 {
		t.Errorf("trigger = %q mode %o", got, mode)
	}
	b := pl.BackupDir
	checks := []struct {
		rel, content string
		mode         fs.FileMode
	}{
		{"client-admin.key", "admin key\n", 0o600},
		{"client-admin.crt", "admin crt\n", 0o644},
		{"server-ca.key", "bootstrap ServerCAKey\n", 0o600},
		{"temporary-certs/apiserver-loopback-client__.crt", "x\n", 0o640},
		{"agent/client-kubelet.crt", "agent kubelet crt\n", 0o644}, // agent files apart, by basename
		{"agent/client-kubelet.key", "agent kubelet key\n", 0o600},
		{"serving-kubelet.key", "kubelet key\n", 0o600}, // the server's own, from the tls copy
	}
	for _, c := range checks {
		got, mode := tcRead(t, filepath.Join(b, c.rel))
		if got != c.content || mode != c.mode {
			t.Errorf("backup %s = %q mode %o, want %q %o", c.rel, got, mode, c.content, c.mode)
		}
	}
	if _, err := os.Stat(filepath.Join(b, "etcd/client.crt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("vanished file in backup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b, "dynamic-cert-regenerate")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("trigger written before the backup: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(b, "temporary-certs")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("subdir mode: %v %v", fi, err)
	}
	// a second apply within the same second must not merge into the backup
	if err := pl.Apply(context.Background()); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Apply err = %v, want ErrExist", err)
	}
}

func TestLeafRotateApplyRefusals(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string, pl *LeafRotationPlan)
		wantErr error
	}{
		{"symlink inside tls", func(t *testing.T, dir string, pl *LeafRotationPlan) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "server/tls/evil.crt")); err != nil {
				t.Fatal(err)
			}
		}, fsutil.ErrSymlink},
		{"agent file replaced by a symlink", func(t *testing.T, dir string, pl *LeafRotationPlan) {
			p := filepath.Join(dir, "agent/client-kubelet.crt")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/passwd", p); err != nil {
				t.Fatal(err)
			}
		}, fsutil.ErrSymlink},
		{"CA file smuggled into the plan", func(t *testing.T, dir string, pl *LeafRotationPlan) {
			pl.Remove = append(pl.Remove, filepath.Join(dir, "server/tls/server-ca.key"))
		}, ErrProtectedFile},
		{"canceled", nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tcRotateFixture(t, true)
			pl, err := PlanLeafRotation(product.K3s, dir, []string{"admin", "kubelet"}, tcEpoch)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.setup != nil {
				tt.setup(t, dir, pl)
			} else {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			if err := pl.Apply(ctx); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Apply err = %v, want %v", err, tt.wantErr)
			}
			if _, err := os.Lstat(pl.BackupDir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("backup dir created despite refusal: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "server/tls/client-admin.key")); err != nil {
				t.Errorf("file removed despite refusal: %v", err)
			}
		})
	}
}

func TestLeafRotateApplyAgentOnly(t *testing.T) {
	dir := tcRotateFixture(t, false)
	pl, err := PlanLeafRotation(product.K3s, dir, nil, tcEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, mode := tcRead(t, filepath.Join(dir, "agent/tls-1780315200/client-kubelet.key")); got != "agent kubelet key\n" || mode != 0o600 {
		t.Errorf("agent backup = %q %o", got, mode)
	}
	if _, err := os.Stat(filepath.Join(dir, "server")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("agent rotation created the server dir: %v", err)
	}
}

// tcSameNames are the file stems a k3s server's tls dir and its agent's dir
// share: k3s's own rotate overwrites one with the other in its backup.
var tcSameNames = []string{"client-k3s-controller", "client-kube-proxy", "client-kubelet", "serving-kubelet"}

// tcServerAgentFixture writes the dir of a k3s server that runs an agent, as
// on a real v1.36 node: the shared legacy keys (and an old
// client-k3s-controller.crt) in server/tls, and the agent's certs, keys, CA
// copies and a kubeconfig in agent/, all with the same base names. Every
// file's content names its side; each file gets its own mtime. With
// tlsAgent, server/tls also holds an "agent" entry.
func tcServerAgentFixture(t *testing.T, server, tlsAgent bool) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "server")
	i := 0
	write := func(root, rel string, mode os.FileMode) {
		p := tcWrite(t, root, rel, []byte(filepath.Base(root)+" "+rel+"\n"), mode)
		i++
		mt := tcEpoch.Add(-time.Duration(i) * time.Hour)
		testkit.SetMtime(t, p, mt)
	}
	if server {
		for _, f := range BootstrapFields {
			mode := os.FileMode(0o600)
			if f.Kind == KindCert {
				mode = 0o644
			}
			write(d, f.Path, mode)
		}
		for _, n := range tcSameNames {
			write(d, "tls/"+n+".key", 0o600)
		}
		write(d, "tls/client-k3s-controller.crt", 0o644)
		write(d, "tls/client-admin.crt", 0o644)
		write(d, "tls/client-admin.key", 0o600)
		if tlsAgent {
			write(d, "tls/agent/stray.crt", 0o644)
		}
	}
	a := filepath.Join(dir, "agent")
	for _, n := range tcSameNames {
		write(a, n+".crt", 0o600)
		write(a, n+".key", 0o600)
	}
	write(a, "client-ca.crt", 0o600)
	write(a, "server-ca.crt", 0o600)
	write(a, "kubelet.kubeconfig", 0o600)
	return dir
}

// tcTree lists every regular file under root, slash-separated and sorted.
func tcTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// tcFileState is what a backup must keep of a file.
type tcFileState struct {
	content string
	mode    fs.FileMode
	mtime   time.Time
}

// tcState records a file's content, permission bits and mtime.
func tcState(t *testing.T, p string) tcFileState {
	t.Helper()
	content, mode := tcRead(t, p)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return tcFileState{content, mode, fi.ModTime()}
}

func TestLeafRotateBackupLayout(t *testing.T) {
	agentPairs := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, n+".crt", n+".key")
		}
		return out
	}
	tests := []struct {
		name     string
		server   bool
		tlsAgent bool
		services []string
		// backup and agentBackup are relative to the data dir.
		backup, agentBackup string
		// agentFiles are the base names expected in agentBackup.
		agentFiles []string
	}{
		{
			name: "server+agent, all services", server: true,
			backup: "server/tls-1780315200", agentBackup: "server/tls-1780315200/agent",
			agentFiles: agentPairs("client-k3s-controller", "client-kube-proxy", "client-kubelet", "serving-kubelet"),
		},
		{
			name: "server+agent, one service with a file on each side", server: true, services: []string{"k3s-controller"},
			backup: "server/tls-1780315200", agentBackup: "server/tls-1780315200/agent",
			agentFiles: agentPairs("client-k3s-controller"),
		},
		{
			name: "server+agent, server service only: no agent folder", server: true, services: []string{"admin"},
			backup: "server/tls-1780315200",
		},
		{
			name: "tls dir holds an agent entry", server: true, tlsAgent: true, services: []string{"kubelet"},
			backup: "server/tls-1780315200", agentBackup: "server/tls-1780315200/agent-1",
			agentFiles: agentPairs("client-kubelet", "serving-kubelet"),
		},
		{
			name:   "agent only: k3s's layout",
			backup: "agent/tls-1780315200", agentBackup: "agent/tls-1780315200",
			agentFiles: agentPairs("client-k3s-controller", "client-kube-proxy", "client-kubelet", "serving-kubelet"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tcServerAgentFixture(t, tt.server, tt.tlsAgent)
			at := func(rel string) string {
				if rel == "" {
					return ""
				}
				return filepath.Join(dir, filepath.FromSlash(rel))
			}
			pl, err := PlanLeafRotation(product.K3s, dir, tt.services, tcEpoch)
			if err != nil {
				t.Fatal(err)
			}
			if pl.BackupDir != at(tt.backup) || pl.AgentBackupDir != at(tt.agentBackup) {
				t.Fatalf("BackupDir %s AgentBackupDir %q, want %s %q", pl.BackupDir, pl.AgentBackupDir, at(tt.backup), at(tt.agentBackup))
			}
			// the plan's copies are the whole story: the tls dir, then each agent file
			var wantCopies []BackupCopy
			if tt.server {
				wantCopies = append(wantCopies, BackupCopy{From: filepath.Join(dir, "server/tls"), To: pl.BackupDir, Dir: true})
			}
			for _, f := range tt.agentFiles {
				wantCopies = append(wantCopies, BackupCopy{From: filepath.Join(dir, "agent", f), To: filepath.Join(pl.AgentBackupDir, f)})
			}
			if got := pl.Backups(); !reflect.DeepEqual(got, wantCopies) {
				t.Fatalf("Backups = %+v\nwant %+v", got, wantCopies)
			}
			// before: the state of every file each copy must keep, by backup path
			before := map[string]tcFileState{}
			for _, c := range pl.Backups() {
				if !c.Dir {
					before[c.To] = tcState(t, c.From)
					continue
				}
				for _, f := range tcTree(t, c.From) {
					before[filepath.Join(c.To, filepath.FromSlash(f))] = tcState(t, filepath.Join(c.From, filepath.FromSlash(f)))
				}
			}
			if err := pl.Apply(context.Background()); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			// every file lands where Backups said, intact, and nothing else is there
			var want []string
			for to, st := range before {
				if got := tcState(t, to); got.content != st.content || got.mode != st.mode || !got.mtime.Equal(st.mtime) {
					t.Errorf("backup %s = %+v, want %+v", to, got, st)
				}
				rel, _ := filepath.Rel(pl.BackupDir, to)
				want = append(want, filepath.ToSlash(rel))
			}
			sort.Strings(want)
			if got := tcTree(t, pl.BackupDir); !reflect.DeepEqual(got, want) {
				t.Errorf("backup holds %q\nwant %q", got, want)
			}
			for _, f := range tt.agentFiles {
				got, mode := tcRead(t, filepath.Join(pl.AgentBackupDir, f))
				if got != "agent "+f+"\n" || mode != 0o600 {
					t.Errorf("agent backup %s = %q %o", f, got, mode)
				}
			}
			if tt.server && len(tt.agentFiles) > 0 {
				// the server's key of the same name is the server's, not the agent's
				if got, mode := tcRead(t, filepath.Join(pl.BackupDir, "client-kubelet.key")); got != "server tls/client-kubelet.key\n" || mode != 0o600 {
					t.Errorf("server client-kubelet.key in backup = %q %o", got, mode)
				}
				if fi, err := os.Stat(pl.AgentBackupDir); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("agent backup dir: %v %v", fi, err)
				}
			}
			for _, p := range pl.Remove {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s not removed: %v", p, err)
				}
			}
			for _, keep := range []string{"agent/client-ca.crt", "agent/server-ca.crt", "agent/kubelet.kubeconfig"} {
				if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
					t.Errorf("%s: %v", keep, err)
				}
			}
		})
	}
}

func TestLeafRotateBackupRefusals(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string, pl *LeafRotationPlan)
		wantErr error
		wantMsg string
	}{
		{"agent folder appeared in tls since the plan", func(t *testing.T, dir string, pl *LeafRotationPlan) {
			tcWrite(t, dir, "server/tls/agent/late.crt", []byte("x\n"), 0o644)
		}, fs.ErrExist, ""},
		{"agent files without an agent backup dir", func(t *testing.T, dir string, pl *LeafRotationPlan) {
			pl.AgentBackupDir = ""
		}, nil, "no agent backup dir"},
		{"agent files into the tls copy itself", func(t *testing.T, dir string, pl *LeafRotationPlan) {
			pl.AgentBackupDir = pl.BackupDir
		}, nil, "does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tcServerAgentFixture(t, true, false)
			pl, err := PlanLeafRotation(product.K3s, dir, nil, tcEpoch)
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(t, dir, pl)
			err = pl.Apply(context.Background())
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Apply err = %v, want %v %q", err, tt.wantErr, tt.wantMsg)
			}
			for _, n := range tcSameNames {
				if _, err := os.Stat(filepath.Join(dir, "agent", n+".key")); err != nil {
					t.Errorf("agent %s.key removed despite the refusal: %v", n, err)
				}
			}
		})
	}
}
