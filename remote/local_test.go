package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLocalFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		root bool
	}{
		{"no root", false},
		{"with Root", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testNodeFiles(t, func(t *testing.T) fileTarget {
				if !tc.root {
					l, err := NewLocal("", nil)
					if err != nil {
						t.Fatal(err)
					}
					return fileTarget{node: l, base: t.TempDir(), host: func(p string) string { return p }}
				}
				root := t.TempDir()
				l, err := NewLocal(root, nil)
				if err != nil {
					t.Fatal(err)
				}
				// The node path /srv/node is root/srv/node here.
				if err := os.MkdirAll(filepath.Join(root, "srv", "node"), 0o755); err != nil {
					t.Fatal(err)
				}
				return fileTarget{node: l, base: "/srv/node", host: func(p string) string { return filepath.Join(root, p) }}
			})
		})
	}
}

// TestLocalRoot checks that Root confines node paths lexically: ".." in a
// path never climbs above Root (such paths are refused as unclean), and
// the results of Glob are node paths.
func TestLocalRoot(t *testing.T) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/rancher/k3s/config.yaml.d/10.yaml"), "a: 1\n", 0o600)
	l, err := NewLocal(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := l.Glob(ctx, "/etc/rancher/k3s/config.yaml.d/*.yaml")
	if err != nil || !reflect.DeepEqual(got, []string{"/etc/rancher/k3s/config.yaml.d/10.yaml"}) {
		t.Errorf("Glob = %q, %v", got, err)
	}
	if _, err := l.ReadFile(ctx, "/../../etc/passwd"); !errors.Is(err, ErrRelativePath) {
		t.Errorf("ReadFile(/../../etc/passwd) = %v, want ErrRelativePath", err)
	}
	if fi, err := l.Stat(ctx, "/etc/passwd"); err != nil || fi.Exists {
		t.Errorf("Stat(/etc/passwd) under an empty root = %+v, %v: want absent", fi, err)
	}
	if got := l.Endpoint().String(); got != "local (root "+root+")" {
		t.Errorf("Endpoint = %q", got)
	}
	if _, err := NewLocal(filepath.Join(root, "missing"), nil); err == nil {
		t.Error("missing root: want an error")
	}
}

func TestLocalRun(t *testing.T) {
	root := t.TempDir()
	l, err := NewLocal(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	testRun(t, l)
	// Commands run in Root.
	out, _, err := l.Run(context.Background(), []string{"pwd"})
	if err != nil || strings.TrimSpace(string(out)) != root {
		t.Errorf("pwd = %q, %v; want %s", out, err, root)
	}
}

// testRun checks Run on a node: output, exit codes, stderr, argv passed
// unchanged, and a deadline that kills a command.
func testRun(t *testing.T, n Node) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		argv           []string
		stdout, stderr string
		code           int // -2: no error
		errHas         string
	}{
		{"ok", []string{"echo", "hello"}, "hello\n", "", -2, ""},
		{"exit 3 with stderr", []string{"sh", "-c", "echo out; echo 'bad thing' >&2; exit 3"}, "out\n", "bad thing\n", 3, "exit status 3: bad thing"},
		{"false", []string{"false"}, "", "", 1, "exit status 1"},
		{"missing program", []string{"/nonexistent/k3sca-prog"}, "", "", 127, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := n.Run(ctx, tc.argv)
			if tc.code == -2 {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var xe *ExitError
				if tc.name == "missing program" && n.Endpoint().Local {
					// exec fails before anything runs: not an exit status.
					if err == nil || errors.As(err, &xe) {
						t.Fatalf("err = %v, want a start failure", err)
					}
					return
				}
				if !errors.As(err, &xe) || xe.Code != tc.code {
					t.Fatalf("err = %v, want exit code %d", err, tc.code)
				}
				if string(xe.Stderr) != string(stderr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("ExitError stderr %q, message %q; want %q", xe.Stderr, err, tc.errHas)
				}
			}
			if tc.stdout != "" && string(stdout) != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			if tc.stderr != "" && string(stderr) != tc.stderr {
				t.Errorf("stderr = %q, want %q", stderr, tc.stderr)
			}
		})
	}
	t.Run("argv unchanged", func(t *testing.T) {
		stdout, _, err := n.Run(ctx, append([]string{"printf", `%s\0`}, trickyArgs...))
		if err != nil {
			t.Fatal(err)
		}
		if got := splitNUL(stdout); !reflect.DeepEqual(got, trickyArgs) {
			t.Errorf("received %q\nwant     %q", got, trickyArgs)
		}
	})
	t.Run("deadline ends the call", func(t *testing.T) {
		// The command writes its pid, so the test can end it whatever the
		// node did (over SSH the kill is best effort: see SSH).
		pidFile := filepath.Join(t.TempDir(), "pid")
		defer killPidFile(pidFile)
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := n.Run(ctx, []string{"sh", "-c", `echo $$ > "$1"; exec sleep 30`, "sh", pidFile})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	if _, _, err := n.Run(ctx, nil); err == nil {
		t.Error("empty argv: want an error")
	}
}

// killPidFile kills the process whose pid the test's command wrote, if it
// still runs (a test-started process, by its pid).
func killPidFile(file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
