package remote

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
)

// TestLoggingHasNoContents writes and reads a secret through Local and SSH
// nodes with a debug logger: the log names the paths and commands, never
// a file's contents.
func TestLoggingHasNoContents(t *testing.T) {
	const secret = "K10deadbeefcafe::server:s3cr3t-t0ken"
	e := newSSHEnv(t)
	for _, tc := range []struct {
		name string
		node func(t *testing.T, l *slog.Logger) Node
	}{
		{"local", func(t *testing.T, l *slog.Logger) Node {
			n, err := NewLocal("", l)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}},
		{"ssh", func(t *testing.T, l *slog.Logger) Node {
			o := e.opts()
			o.Logger = l
			return dialT(t, o)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			n := tc.node(t, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
			p := filepath.Join(t.TempDir(), "token")
			ctx := context.Background()
			mustWrite(t, p, secret+"-old\n", 0o600)
			if _, err := n.WriteFile(ctx, p, []byte(secret+"\n"), WriteOptions{Now: testkit.Now}); err != nil {
				t.Fatal(err)
			}
			if b, err := n.ReadFile(ctx, p); err != nil || string(b) != secret+"\n" {
				t.Fatalf("ReadFile = %q, %v", b, err)
			}
			if _, _, err := n.Run(ctx, []string{"wc", "-c", p}); err != nil {
				t.Fatal(err)
			}
			log := buf.String()
			if strings.Contains(log, "s3cr3t") {
				t.Errorf("the log holds the secret:\n%s", log)
			}
			for _, s := range []string{"path=" + p, "msg=write", "msg=read", "msg=run", "wc -c " + p} {
				if !strings.Contains(log, s) {
					t.Errorf("log lacks %q:\n%s", s, log)
				}
			}
		})
	}
}

func TestUseSudo(t *testing.T) {
	for _, tc := range []struct {
		mode SudoMode
		user string
		want bool
	}{
		{SudoAuto, "root", false}, {SudoAuto, "deploy", true}, {SudoAuto, "rooter", true},
		{SudoNever, "deploy", false}, {SudoNever, "root", false},
		{SudoAlways, "root", true}, {SudoAlways, "deploy", true},
	} {
		if got := useSudo(tc.mode, tc.user); got != tc.want {
			t.Errorf("useSudo(%v, %q) = %v, want %v", tc.mode, tc.user, got, tc.want)
		}
	}
}
