package cluster

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "node[1]*")
	for p, c := range map[string]string{"etc/rancher/k3s/config.yaml": "token: x\n", "etc/rancher/k3s/config.yaml.d/a.yaml": "", "etc/rancher/k3s/config.yaml.d/b.yml": ""} {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(filepath.Dir(root), "secret")
	if err := os.WriteFile(outside, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := DirFiles{Root: root}
	b, err := d.ReadFile(ctx, "/etc/rancher/k3s/config.yaml")
	if err != nil || string(b) != "token: x\n" {
		t.Fatalf("ReadFile: %q, %v", b, err)
	}
	if _, err := d.ReadFile(ctx, "/../secret"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read above Root: %v", err)
	}
	if _, err := d.ReadFile(ctx, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	m, err := d.Glob(ctx, "/etc/rancher/k3s/config.yaml.d/*")
	if err != nil || strings.Join(m, " ") != "/etc/rancher/k3s/config.yaml.d/a.yaml /etc/rancher/k3s/config.yaml.d/b.yml" {
		t.Errorf("Glob: %q, %v", m, err)
	}
	if m, err := d.Glob(ctx, "/etc/rancher"); err != nil || len(m) != 1 || m[0] != "/etc/rancher" {
		t.Errorf("Glob of a directory: %q, %v", m, err)
	}
	if m, err := d.Glob(ctx, "/none/*"); err != nil || len(m) != 0 {
		t.Errorf("Glob no match: %q, %v", m, err)
	}
	if _, err := d.Glob(ctx, "/etc/["); err == nil {
		t.Error("bad pattern: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.ReadFile(cancelled, "/etc/rancher/k3s/config.yaml"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ReadFile: %v", err)
	}
	if _, err := d.Glob(cancelled, "/*"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Glob: %v", err)
	}
}

func TestMemFiles(t *testing.T) {
	ctx := context.Background()
	m := MemFiles{"/etc/a/b.yaml": "1", "/etc/a/c/d.yaml": "2", "/etc/z": "3"}
	if b, err := m.ReadFile(ctx, "/etc/z"); err != nil || string(b) != "3" {
		t.Errorf("ReadFile: %q %v", b, err)
	}
	if _, err := m.ReadFile(ctx, "/etc/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory read: %v", err)
	}
	got, err := m.Glob(ctx, "/etc/a/*")
	if err != nil || strings.Join(got, " ") != "/etc/a/b.yaml /etc/a/c" {
		t.Errorf("Glob: %q %v", got, err)
	}
	if _, err := m.Glob(ctx, "/etc/["); err == nil {
		t.Error("bad pattern: no error")
	}
}
