package steps

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// TestGenerateCancelledWritesNothing: a Generate step whose context is
// cancelled (ctrl+c in the wizard, SIGINT headless) before or while its
// keys are generated fails with context.Canceled and leaves no file and no
// directory behind, in a staging dir as in the server dir of a new cluster.
func TestGenerateCancelledWritesNothing(t *testing.T) {
	tests := []struct {
		name    string
		initial bool
		after   time.Duration // cancel this long after Run starts; < 0: before
	}{
		{"staged, cancelled before", false, -1},
		{"staged, cancelled while generating", false, 2 * time.Millisecond},
		{"initial, cancelled before", true, -1},
		{"initial, cancelled while generating", true, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dd := filepath.Join(t.TempDir(), "data")
			out := filepath.Join(t.TempDir(), "staged")
			if tt.initial {
				out = product.ServerDir(dd)
			}
			// Two RSA-4096 keys take far longer than 2 ms on any machine.
			g := NewGenerate(GenerateInput{Kind: GenCustomCA, DataDir: dd, Out: out, Initial: tt.initial,
				Opts: pki.GenOptions{Product: product.K3s, Now: testkit.Now, RootKeyType: pki.KeyRSA4096}})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.after < 0 {
				cancel()
			} else {
				time.AfterFunc(tt.after, cancel)
			}
			summary, err := g.Run(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %q, %v; want context.Canceled", summary, err)
			}
			if g.Set() != nil {
				t.Error("a cancelled Generate kept a set")
			}
			for _, p := range []string{out, dd} {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s exists after a cancelled generate (%v)", p, err)
				}
			}
		})
	}
}
