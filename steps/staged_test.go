package steps

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestStagedDirWithoutTLSIsRefused: a dir without tls/, or the tls/ dir
// itself, is refused by the load flow before any step, naming the dir to
// give instead; nothing is offered as a no-op load.
func TestStagedDirWithoutTLSIsRefused(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	empty := t.TempDir()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		want      error
		says      string
	}{
		{"the tls dir itself", filepath.Join(stage, "tls"), ErrNoStagedTLS, "give its parent: " + stage},
		{"a dir without tls", empty, ErrNoStagedTLS, empty + " has no tls/ subdir"},
		{"a file", file, nil, "is not a directory"},
		{"missing", filepath.Join(empty, "nope"), os.ErrNotExist, "nope"},
		{"the live server dir", sb.ServerDir, ErrStagedIsLive, "live k3s server dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, svc := flowEnv(t, sb, true)
			_, err := buildFlowErr(t, env, FlowLoad, map[string]string{"path": tt.dir})
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err %v, want %v saying %q", err, tt.want, tt.says)
			}
			if len(svc.Calls()) > 0 {
				t.Fatalf("a refused load called the service manager: %v", svc.Calls())
			}
		})
	}
	if err := CheckStaged(sb.DataDir, stage); err != nil {
		t.Fatalf("a staged dir with tls/ is refused: %v", err)
	}
}
