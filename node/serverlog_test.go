package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

const journalFixture = "testdata/k3s-journal-cert-error.txt"

func TestFindErrorID(t *testing.T) {
	out, err := os.ReadFile(journalFixture)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, wantReason, wantTime string
		ok                       bool
	}{
		{"04242", `failed to validate new CA certificates and keys: ServerCA: new CA cert cannot be verified using old CA chain: x509: certificate signed by unknown authority (possibly because of "crypto/ecdsa: verification error" while trying to verify candidate authority certificate "k3s-server-ca@1795694400"), ServiceKey: old ServiceAccount signing key not in new ServiceAccount key list`, "2026-11-27T12:00:00Z", true},
		{"31337", "failed to validate new CA certificates and keys: ServerCA: new CA bundle contains only a single certificate but should include root or intermediate CA certificates", "2026-11-27T11:59:10Z", true},
		{"77777", "", "", false}, // level=info: not k3s's error line
		{"4242", "", "", false},  // IDs are whole: 04242 is not 4242
		{"12345", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			m, ok := findErrorID(out, "certificate", tt.id)
			if ok != tt.ok || m.Reason != tt.wantReason || m.Time != tt.wantTime {
				t.Errorf("got %+v %t, want %q at %q (%t)", m, ok, tt.wantReason, tt.wantTime, tt.ok)
			}
		})
	}
}

func TestServerLogsFind(t *testing.T) {
	ctx := context.Background()
	failing := func(context.Context, string, ...string) ([]byte, error) {
		return nil, &exec.Error{Name: "journalctl", Err: exec.ErrNotFound}
	}
	t.Run("journald, through journalctl on PATH", func(t *testing.T) {
		args := testkit.StubJournalctl(t, journalFixture)
		m, err := ServerLogs{LogFile: filepath.Join(t.TempDir(), "none.log")}.Find(ctx, "k3s", "certificate", "04242", testkit.Now)
		if err != nil || !strings.HasPrefix(m.Reason, "failed to validate new CA certificates and keys: ServerCA: new CA cert cannot be verified") {
			t.Fatalf("find: %+v, %v", m, err)
		}
		since := "@" + strconv.FormatInt(testkit.Now.Add(-time.Minute).Unix(), 10)
		if m.Source != "journalctl -u k3s --since "+since {
			t.Errorf("source %q", m.Source)
		}
		got, _ := os.ReadFile(args)
		if want := strings.Join([]string{"-u", "k3s", "--since", since, "--no-pager", "-q", "-o", "cat"}, "\n") + "\n"; string(got) != want {
			t.Errorf("journalctl got %q, want %q", got, want)
		}
	})
	t.Run("no journalctl: the OpenRC log file", func(t *testing.T) {
		m, err := ServerLogs{Run: failing, LogFile: journalFixture}.Find(ctx, "k3s", "certificate", "31337", testkit.Now)
		if err != nil || m.Source != journalFixture || !strings.Contains(m.Reason, "only a single certificate") {
			t.Fatalf("find: %+v, %v", m, err)
		}
	})
	t.Run("not in the journal: the OpenRC log file", func(t *testing.T) {
		testkit.StubJournalctl(t, filepath.Join(t.TempDir(), "empty"))
		m, err := ServerLogs{LogFile: journalFixture}.Find(ctx, "k3s", "certificate", "04242", testkit.Now)
		if err != nil || m.Source != journalFixture {
			t.Fatalf("find: %+v, %v", m, err)
		}
	})
	t.Run("nowhere", func(t *testing.T) {
		none := filepath.Join(t.TempDir(), "k3s.log")
		_, err := ServerLogs{Run: failing, LogFile: none}.Find(ctx, "k3s", "certificate", "04242", testkit.Now)
		if err == nil || !strings.Contains(err.Error(), "journalctl -u k3s") || !strings.Contains(err.Error(), none+" does not exist") {
			t.Errorf("find: %v, want where it looked", err)
		}
	})
}

// TestServerLogsCommand: the command printed for the operator, run as
// printed, shows k3s's line for the ID (journalctl is a stub serving the
// captured journal).
func TestServerLogsCommand(t *testing.T) {
	testkit.StubJournalctl(t, journalFixture)
	cmd := ServerLogs{}.Command("k3s", "certificate", "04242", testkit.Now)
	journal, _, _ := strings.Cut(cmd, " (under OpenRC: ")
	out := runShell(t, journal)
	if n := strings.Count(out, "\n"); n != 1 || !strings.Contains(out, `msg="certificate error ID 04242: failed to validate`) {
		t.Errorf("%s printed %q, want the one line of ID 04242", journal, out)
	}
	openrc := strings.TrimSuffix(strings.SplitN(cmd, " (under OpenRC: ", 2)[1], ")")
	if !strings.HasSuffix(openrc, " /var/log/k3s.log") {
		t.Fatalf("OpenRC command %q", openrc)
	}
	out = runShell(t, strings.TrimSuffix(openrc, "/var/log/k3s.log")+journalFixture)
	if !strings.Contains(out, "certificate error ID 04242: ") {
		t.Errorf("%s printed %q", openrc, out)
	}
}

func TestIsThisHost(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://127.0.0.1:6443", true},
		{"https://localhost:6443", true},
		{"https://[::1]:6443", true},
		{"https://192.0.2.10:6443", false}, // TEST-NET-1, never an address here
		{"not a url\x00", false},
	}
	for _, tt := range tests {
		if got := IsThisHost(tt.url); got != tt.want {
			t.Errorf("IsThisHost(%q) = %t, want %t", tt.url, got, tt.want)
		}
	}
}

// runShell runs command with sh, on the PATH of the test (a stub's first),
// and returns what it printed.
func runShell(t *testing.T, command string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", command).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	return string(out)
}
