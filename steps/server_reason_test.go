package steps

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
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

// stStubJournalctl puts a journalctl on PATH that prints journal (the
// lines the stand-in server logged) and records its arguments.
func stStubJournalctl(t *testing.T, journal string) (argsFile string) {
	t.Helper()
	bin := t.TempDir()
	argsFile = filepath.Join(bin, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\ncat " + journal + " 2>/dev/null\n"
	if err := os.WriteFile(filepath.Join(bin, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return argsFile
}

func TestServerLogsFind(t *testing.T) {
	ctx := context.Background()
	failing := func(context.Context, string, ...string) ([]byte, error) {
		return nil, &exec.Error{Name: "journalctl", Err: exec.ErrNotFound}
	}
	t.Run("journald, through journalctl on PATH", func(t *testing.T) {
		args := stStubJournalctl(t, journalFixture)
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
		stStubJournalctl(t, filepath.Join(t.TempDir(), "empty"))
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
	stStubJournalctl(t, journalFixture)
	cmd := ServerLogs{}.Command("k3s", "certificate", "04242", testkit.Now)
	journal, _, _ := strings.Cut(cmd, " (under OpenRC: ")
	out := stRunShell(t, journal, t.TempDir())
	if n := strings.Count(out, "\n"); n != 1 || !strings.Contains(out, `msg="certificate error ID 04242: failed to validate`) {
		t.Errorf("%s printed %q, want the one line of ID 04242", journal, out)
	}
	openrc := strings.TrimSuffix(strings.SplitN(cmd, " (under OpenRC: ", 2)[1], ")")
	if !strings.HasSuffix(openrc, " /var/log/k3s.log") {
		t.Fatalf("OpenRC command %q", openrc)
	}
	out = stRunShell(t, strings.TrimSuffix(openrc, "/var/log/k3s.log")+journalFixture, t.TempDir())
	if !strings.Contains(out, "certificate error ID 04242: ") {
		t.Errorf("%s printed %q", openrc, out)
	}
}

// TestLoadViaServerReason: the server refuses what k3sca's validation
// accepted (its clock is an hour behind, so the new CAs are not valid yet
// there); the error and the refusal carry k3s's own reason, read from
// this node's journal through journalctl, beside k3sca's verdict.
func TestLoadViaServerReason(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	journal := filepath.Join(t.TempDir(), "journal")
	stStubJournalctl(t, journal)
	old := stKV(t, sb)
	in := stInput(sb, sandboxtest.Stage(t, sb), ViaServer)
	in.ServerURL = stSupervisorWith(t, sb, stServer{Now: testkit.Now.Add(-time.Hour), Journal: journal})
	in.ServerLogs = ServerLogs{LogFile: filepath.Join(t.TempDir(), "k3s.log")}
	l := NewLoad(in)
	if _, err := l.Preview(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := l.Run(ctx)
	var refusal *ServerRefusalError
	if !errors.Is(err, datastore.ErrServerRefused) || !errors.As(err, &refusal) {
		t.Fatalf("run: %v, want a refusal", err)
	}
	r := refusal.Refusal
	if len(r.ID) != 5 || !strings.HasPrefix(r.Reason, "failed to validate new CA certificates and keys: ") || !strings.Contains(r.Reason, "not yet valid") {
		t.Errorf("refusal %+v, want k3s's reason for a 5-digit ID", r)
	}
	if !strings.HasPrefix(r.Source, "journalctl -u k3s --since @") || r.Logged != testkit.Now.Add(-time.Hour).Format(time.RFC3339) {
		t.Errorf("found in %q at %q", r.Source, r.Logged)
	}
	if !strings.HasPrefix(r.Validation, "accepted (") {
		t.Errorf("local validation %q, want accepted", r.Validation)
	}
	for _, want := range []string{"certificate error ID " + r.ID, r.Reason, "k3sca's own validation: accepted", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if l.Result().State != WriteNone {
		t.Errorf("state %s", l.Result().State)
	}
	stSameKV(t, stKV(t, sb), old)
}

func TestIsThisNode(t *testing.T) {
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
		if got := isThisNode(tt.url); got != tt.want {
			t.Errorf("isThisNode(%q) = %t, want %t", tt.url, got, tt.want)
		}
	}
}
