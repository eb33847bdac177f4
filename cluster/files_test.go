package cluster

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

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
