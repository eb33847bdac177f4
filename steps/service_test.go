package steps

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

func TestDetectServices(t *testing.T) {
	found := func(string) (string, error) { return "/sbin/rc-service", nil }
	missing := func(string) (string, error) { return "", exec.ErrNotFound }
	tests := []struct {
		name     string
		sandbox  bool
		systemd  bool
		lookPath func(string) (string, error)
		want     string
	}{
		{name: "sandbox wins over systemd", sandbox: true, systemd: true, lookPath: found, want: "sandbox"},
		{name: "systemd runs", systemd: true, lookPath: found, want: "systemd"},
		{name: "openrc", lookPath: found, want: "openrc"},
		{name: "neither: systemd, which reports ErrNoServiceManager", lookPath: missing, want: "systemd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.systemd {
				stMkdir(t, filepath.Join(root, "run", "systemd", "system"))
			}
			dataDir := filepath.Join(t.TempDir(), "data")
			if tc.sandbox {
				dataDir = stSandbox(t).DataDir
			}
			got := detectServices(dataDir, root, tc.lookPath)
			if got.Name() != tc.want {
				t.Errorf("detected %s, want %s", got.Name(), tc.want)
			}
		})
	}
}

// stFakeRCService puts an rc-service on PATH that logs its arguments and
// exits with $RC_STATUS for status and $RC_EXIT otherwise: OpenRC itself
// cannot run here.
func stFakeRCService(t *testing.T) (log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(bin, "calls")
	t.Setenv("RC_LOG", log)
	script := "#!/bin/sh\necho \"$@\" >> \"$RC_LOG\"\n" +
		"if [ \"$2\" = status ]; then exit \"${RC_STATUS:-0}\"; fi\n" +
		"echo \"rc-service says no\" >&2\nexit \"${RC_EXIT:-0}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "rc-service"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	return log
}

func TestOpenRC(t *testing.T) {
	tests := []struct {
		name, status, exit string
		wantActive         bool
		wantErr            string
		wantCalls          string
	}{
		{name: "started", status: "0", wantActive: true, wantCalls: "k3s status\nk3s stop\nk3s start\n"},
		{name: "stopped (exit 3)", status: "3", wantCalls: "k3s status\nk3s stop\nk3s start\n"},
		{name: "crashed (exit 32)", status: "32", wantCalls: "k3s status\nk3s stop\nk3s start\n"},
		{name: "start fails", status: "3", exit: "1", wantErr: "rc-service says no", wantCalls: "k3s status\nk3s stop\nk3s start\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := stFakeRCService(t)
			t.Setenv("RC_STATUS", tc.status)
			t.Setenv("RC_EXIT", tc.exit)
			ctx := context.Background()
			var s ServiceManager = OpenRC{}
			active, err := s.IsActive(ctx, "k3s")
			if err != nil || active != tc.wantActive {
				t.Errorf("IsActive = %t, %v; want %t", active, err, tc.wantActive)
			}
			stopErr := s.Stop(ctx, "k3s")
			startErr := s.Start(ctx, "k3s")
			for _, err := range []error{stopErr, startErr} {
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Errorf("stop/start error %v, want %q", err, tc.wantErr)
				}
			}
			calls, _ := os.ReadFile(log)
			if string(calls) != tc.wantCalls {
				t.Errorf("rc-service calls:\n%s\nwant:\n%s", calls, tc.wantCalls)
			}
			if s.Name() != "openrc" {
				t.Errorf("Name = %q", s.Name())
			}
		})
	}
}

func TestNoServiceManager(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ctx := context.Background()
	for _, s := range []ServiceManager{Systemd{}, OpenRC{}} {
		t.Run(s.Name(), func(t *testing.T) {
			_, isErr := s.IsActive(ctx, "k3s")
			for _, err := range []error{isErr, s.Stop(ctx, "k3s"), s.Start(ctx, "k3s")} {
				if !errors.Is(err, ErrNoServiceManager) {
					t.Errorf("err = %v, want ErrNoServiceManager", err)
				}
			}
		})
	}
	if msg := ErrNoServiceManager.Error(); !strings.Contains(msg, "systemctl") || !strings.Contains(msg, "rc-service") {
		t.Errorf("ErrNoServiceManager %q should name both systemctl and rc-service", msg)
	}
}

func TestSandboxServices(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, sb *Sandbox)
		run     func(ctx context.Context, s *SandboxServices) error
		want    string // state file content after run; "" for no file
		active  bool
		wantErr error
	}{
		{name: "a new sandbox is stopped", want: "inactive"},
		{name: "a sandbox made before the state file is stopped", want: "",
			setup: func(t *testing.T, sb *Sandbox) { stRemove(t, filepath.Join(sb.DataDir, sandboxServiceFile)) }},
		{name: "start simulates the restart and runs", want: "active", active: true,
			run: func(ctx context.Context, s *SandboxServices) error { return s.Start(ctx, "k3s") }},
		{name: "stop after start", want: "inactive",
			run: func(ctx context.Context, s *SandboxServices) error {
				if err := s.Start(ctx, "k3s"); err != nil {
					return err
				}
				return s.Stop(ctx, "k3s")
			}},
		{name: "a failed start leaves it stopped", want: "inactive", wantErr: ErrNewerOnDisk,
			setup: func(t *testing.T, sb *Sandbox) {
				p := pki.ServerCAPath(sb.ServerDir)
				if err := os.WriteFile(p, []byte("edited by hand\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				future := testkit.Now.Add(time.Hour)
				if err := os.Chtimes(p, future, future); err != nil {
					t.Fatal(err)
				}
			},
			run: func(ctx context.Context, s *SandboxServices) error { return s.Start(ctx, "k3s") }},
		{name: "only the server unit exists", want: "inactive",
			run:     func(ctx context.Context, s *SandboxServices) error { return s.Start(ctx, "k3s-agent") },
			wantErr: errAny},
		{name: "a real data dir is refused", wantErr: ErrNotSandbox, want: "inactive",
			setup: func(t *testing.T, sb *Sandbox) { stRemove(t, filepath.Join(sb.DataDir, sandboxMarker)) },
			run:   func(ctx context.Context, s *SandboxServices) error { return s.Stop(ctx, "k3s") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sb := stSandbox(t)
			if tc.setup != nil {
				tc.setup(t, sb)
			}
			s := &SandboxServices{DataDir: sb.DataDir, Product: product.K3s, Now: func() time.Time { return testkit.Now }}
			if tc.run != nil {
				err := tc.run(ctx, s)
				if tc.wantErr == errAny && err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			}
			b, _ := os.ReadFile(filepath.Join(sb.DataDir, sandboxServiceFile))
			if got := strings.TrimSpace(string(b)); got != tc.want {
				t.Errorf("state file %q, want %q", got, tc.want)
			}
			active, err := s.IsActive(ctx, "k3s")
			if tc.wantErr == ErrNotSandbox {
				if !errors.Is(err, ErrNotSandbox) {
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

// TestSandboxServicesGateSQLite: a started sandbox makes ChooseAccess refuse
// a direct SQLite write, a stopped one allows it; the restart is the real one.
func TestSandboxServicesGateSQLite(t *testing.T) {
	ctx := context.Background()
	sb := stSandbox(t)
	stage := stStage(t, sb)
	if _, err := NewLoad(stInput(sb, stage, ViaAuto)).Run(ctx); err != nil {
		t.Fatal(err)
	}
	s := &SandboxServices{DataDir: sb.DataDir, Now: func() time.Time { return testkit.Now.Add(time.Minute) }}
	in := AccessInput{DataDir: sb.DataDir, Product: product.K3s, Services: s}
	if acc, err := ChooseAccess(ctx, in); err != nil || acc.Via != ViaSQLite {
		t.Fatalf("stopped sandbox: %v %v, want sqlite", acc.Via, err)
	}
	if err := s.Start(ctx, product.K3s.ServerUnit()); err != nil {
		t.Fatal(err)
	}
	staged, _ := os.ReadFile(pki.ServerCAPath(stage))
	disk, _ := os.ReadFile(pki.ServerCAPath(sb.ServerDir))
	if string(staged) != string(disk) {
		t.Error("start did not take the loaded server CA from the datastore")
	}
	if _, err := ChooseAccess(ctx, in); !errors.Is(err, ErrK3sRunning) {
		t.Errorf("running sandbox: %v, want ErrK3sRunning", err)
	}
	if err := s.Stop(ctx, product.K3s.ServerUnit()); err != nil {
		t.Fatal(err)
	}
	if acc, err := ChooseAccess(ctx, in); err != nil || acc.Via != ViaSQLite {
		t.Errorf("stopped again: %v %v, want sqlite", acc.Via, err)
	}
}

func stRemove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// TestSystemdStartNeverWaitsForReady: k3s's unit is Type=notify with
// TimeoutStartSec=0, so a blocking `systemctl start` of a k3s that never
// becomes ready waits for ever. The fake systemctl does just that unless
// given --no-block; Start must return at once. The error lines k3s logged
// come from journalctl, and the printed command shows the same lines.
func TestSystemdStartNeverWaitsForReady(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	journal := "level=info msg=\"Starting k3s\"\n" +
		"level=error msg=\"Failed to validate connection to cluster at https://127.0.0.1:6443: CA cert validation failed\"\n" +
		"level=info msg=\"Waiting\"\n" +
		"level=fatal msg=\"the last one\"\n"
	for name, body := range map[string]string{
		"systemctl":  "#!/bin/sh\necho \"$@\" >> \"" + calls + "\"\ncase \" $* \" in *\" --no-block \"*) exit 0;; esac\nexec sleep 3600\n",
		"journalctl": "#!/bin/sh\necho \"$@\" >> \"" + calls + "\"\nprintf '%s' '" + journal + "'\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := (Systemd{}).Start(ctx, "k3s"); err != nil {
		t.Fatalf("start: %v (a blocking start would hang until the context ends)", err)
	}
	lines, err := (Systemd{}).ErrorLog(ctx, "k3s", 10)
	if err != nil || len(lines) != 2 || !strings.Contains(lines[0], "CA cert validation failed") || !strings.Contains(lines[1], "level=fatal") {
		t.Errorf("ErrorLog = %q, %v; want the error and the fatal line, oldest first", lines, err)
	}
	got, _ := os.ReadFile(calls)
	if want := "start --no-block k3s\n-u k3s --no-pager -o cat -n 2000\n"; string(got) != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	out, err := exec.Command("sh", "-c", (Systemd{}).ErrorLogCommand("k3s")).CombinedOutput()
	if err != nil || strings.Join(lines, "\n")+"\n" != string(out) {
		t.Errorf("%s: %v\n%s\nwant the lines ErrorLog returned", (Systemd{}).ErrorLogCommand("k3s"), err, out)
	}
}
