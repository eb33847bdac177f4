package pki

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/fsutil"
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
		{"client-kubelet.crt", "agent kubelet crt\n", 0o644}, // agent file by basename
		{"client-kubelet.key", "agent kubelet key\n", 0o600},
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
