package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

func TestSandboxServices(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, sb *sandbox.Sandbox)
		run     func(ctx context.Context, s *sandbox.Services) error
		want    string // state file content after run; "" for no file
		active  bool
		wantErr error
	}{
		{name: "a new sandbox is stopped", want: "inactive"},
		{name: "a sandbox made before the state file is stopped", want: "",
			setup: func(t *testing.T, sb *sandbox.Sandbox) {
				testkit.Remove(t, filepath.Join(sb.DataDir, sandbox.ServiceFile))
			}},
		{name: "start simulates the restart and runs", want: "active", active: true,
			run: func(ctx context.Context, s *sandbox.Services) error { return s.Start(ctx, "k3s") }},
		{name: "stop after start", want: "inactive",
			run: func(ctx context.Context, s *sandbox.Services) error {
				if err := s.Start(ctx, "k3s"); err != nil {
					return err
				}
				return s.Stop(ctx, "k3s")
			}},
		{name: "a failed start leaves it failed, as systemd marks it", want: "failed", wantErr: node.ErrNewerOnDisk,
			setup: func(t *testing.T, sb *sandbox.Sandbox) {
				p := pki.ServerCAPath(sb.ServerDir)
				if err := os.WriteFile(p, []byte("edited by hand\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				future := testkit.Now.Add(time.Hour)
				testkit.SetMtime(t, p, future)
			},
			run: func(ctx context.Context, s *sandbox.Services) error { return s.Start(ctx, "k3s") }},
		{name: "only the server unit exists", want: "inactive",
			run:     func(ctx context.Context, s *sandbox.Services) error { return s.Start(ctx, "k3s-agent") },
			wantErr: errAny},
		{name: "a real data dir is refused", wantErr: node.ErrNotSandbox, want: "inactive",
			setup: func(t *testing.T, sb *sandbox.Sandbox) {
				testkit.Remove(t, filepath.Join(sb.DataDir, node.SandboxMarker))
			},
			run: func(ctx context.Context, s *sandbox.Services) error { return s.Stop(ctx, "k3s") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sb := sandboxtest.New(t)
			if tc.setup != nil {
				tc.setup(t, sb)
			}
			s := &sandbox.Services{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock}
			if tc.run != nil {
				err := tc.run(ctx, s)
				if tc.wantErr == errAny && err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			}
			b, _ := os.ReadFile(filepath.Join(sb.DataDir, sandbox.ServiceFile))
			if got := strings.TrimSpace(string(b)); got != tc.want {
				t.Errorf("state file %q, want %q", got, tc.want)
			}
			active, err := s.IsActive(ctx, "k3s")
			if tc.wantErr == node.ErrNotSandbox {
				if !errors.Is(err, node.ErrNotSandbox) {
					t.Errorf("IsActive on a real data dir: %v, want ErrNotSandbox", err)
				}
				return
			}
			if err != nil || active != tc.active {
				t.Errorf("IsActive = %t, %v; want %t", active, err, tc.active)
			}
			if agent, err := s.IsActive(ctx, "k3s-agent"); err != nil || agent {
				t.Errorf("agent unit active = %t, %v; want false", agent, err)
			}
		})
	}
}

// errAny stands for "some error" in tables that mostly name a sentinel.
var errAny = errors.New("any error")
