package node

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
)

func TestDetectServices(t *testing.T) {
	found := func(string) (string, error) { return "/sbin/rc-service", nil }
	missing := func(string) (string, error) { return "", exec.ErrNotFound }
	tests := []struct {
		name     string
		systemd  bool
		lookPath func(string) (string, error)
		want     string
	}{
		{name: "systemd runs", systemd: true, lookPath: found, want: "systemd"},
		{name: "openrc", lookPath: found, want: "openrc"},
		{name: "neither: systemd, which reports ErrNoServiceManager", lookPath: missing, want: "systemd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.systemd {
				testkit.Mkdir(t, filepath.Join(root, "run", "systemd", "system"))
			}
			got := detectServices(root, tc.lookPath)
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
