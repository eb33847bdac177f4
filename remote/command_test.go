package remote

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// trickyArgs are arguments a shell would mangle if they were not quoted.
var trickyArgs = []string{
	"plain", "with space", "", "it's", `say "hi"`, "$HOME", "${PATH}", "$(id -u)", "`id`",
	`back\slash`, "semi;colon", "a && b", "a|b", "*", "~", "#hash", "-n", "--", "new\nline", "tab\there",
	"ünïcødé", "'", `'\''`, "%s",
}

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"ls", "-l", "/etc/rancher/k3s"}, "ls -l /etc/rancher/k3s"},
		{[]string{"echo", "a b"}, "echo 'a b'"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", "$HOME"}, "echo '$HOME'"},
		{[]string{"echo", `"q"`}, `echo '"q"'`},
		{[]string{"echo", "a\nb"}, "echo 'a\nb'"},
		{[]string{"k3s", "--token=x:y,z@h+1%"}, "k3s --token=x:y,z@h+1%"},
		{[]string{"x;rm -rf /"}, "'x;rm -rf /'"},
	} {
		if got := ShellQuote(tc.argv); got != tc.want {
			t.Errorf("ShellQuote(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

// TestShellQuoteThroughSh gives quoted argv to a real sh and checks that
// every argument arrives as it was.
func TestShellQuoteThroughSh(t *testing.T) {
	argv := append([]string{"printf", `%s\0`}, trickyArgs...)
	out, err := exec.Command("sh", "-c", ShellQuote(argv)).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	if got := splitNUL(out); !reflect.DeepEqual(got, trickyArgs) {
		t.Errorf("sh received %q, want %q", got, trickyArgs)
	}
}

func splitNUL(b []byte) []string {
	parts := strings.Split(string(bytes.TrimSuffix(b, []byte{0})), "\x00")
	return parts
}

// TestSudoArgv is the exact argv of the sudo wrapper: real sudo cannot be
// exercised here (tests would need a sudoers entry), so the wrapper is a
// pure function checked argument by argument, and the SSH tests run it
// against a stand-in sudo that insists on -n and --.
func TestSudoArgv(t *testing.T) {
	for _, tc := range []struct {
		sudo string
		argv []string
		want []string
	}{
		{"", []string{"true"}, []string{"sudo", "-n", "--", "true"}},
		{"", []string{"systemctl", "restart", "k3s"}, []string{"sudo", "-n", "--", "systemctl", "restart", "k3s"}},
		{"/usr/bin/sudo", []string{"cat", "/var/lib/rancher/k3s/server/token"}, []string{"/usr/bin/sudo", "-n", "--", "cat", "/var/lib/rancher/k3s/server/token"}},
		{"", []string{"-h"}, []string{"sudo", "-n", "--", "-h"}},
		{"", []string{"sh", "-c", "echo $0", "a b"}, []string{"sudo", "-n", "--", "sh", "-c", "echo $0", "a b"}},
	} {
		if got := SudoArgv(tc.sudo, tc.argv); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SudoArgv(%q, %q) = %q, want %q", tc.sudo, tc.argv, got, tc.want)
		}
	}
	if got, want := ShellQuote(SudoArgv("", []string{"cat", "/etc/my file"})), "sudo -n -- cat '/etc/my file'"; got != want {
		t.Errorf("quoted = %q, want %q", got, want)
	}
	got := sftpServerArgv("", "/opt/sftp-server")
	want := []string{"sudo", "-n", "--", "sh", "-c", sftpServerScript, "k3sca-sftp", "/opt/sftp-server"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sftpServerArgv = %q, want %q", got, want)
	}
}

// TestSFTPServerScript runs the sftp-server finder with a stand-in server
// given as $1, and with nothing to find.
func TestSFTPServerScript(t *testing.T) {
	// /bin/echo stands in for the server given as $1: it is exec'd (an
	// empty line, exit 0) before any usual place is looked at.
	out, err := exec.Command("sh", "-c", sftpServerScript, "k3sca-sftp", "/bin/echo").CombinedOutput()
	if err != nil || string(out) != "\n" {
		t.Fatalf("with $1=/bin/echo: %v %q", err, out)
	}
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(sftpServerScript, "/usr/lib", "/nonexistent-k3sca"), "k3sca-sftp", "")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 127 || !strings.Contains(string(out), "no sftp-server found") {
		t.Fatalf("nothing to find: %v %q", err, out)
	}
}

func TestSudoRefusal(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   bool
	}{
		{"sudo: a password is required\n", true},
		{"sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\n", true},
		{"sudo: sorry, you must have a tty to run sudo\n", true},
		{"deploy is not in the sudoers file.  This incident will be reported.\n", false},
		{"sudo: deploy is not in the sudoers file.\n", true},
		{"cat: /x: No such file or directory\n", false},
		{"", false},
		{"error: sudo: a password is required\n", false},
	} {
		if got := sudoRefusal([]byte(tc.stderr)); got != tc.want {
			t.Errorf("sudoRefusal(%q) = %v, want %v", tc.stderr, got, tc.want)
		}
	}
}

func TestExitErrorMessage(t *testing.T) {
	e := &ExitError{Node: "root@n1:22", Argv: []string{"k3s", "check", "a b"}, Code: 3, Stderr: []byte("\n  first line  \nsecond\n")}
	if got, want := e.Error(), "run k3s check 'a b' on root@n1:22: exit status 3: first line"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &ExitError{Node: "local", Argv: []string{"sleep", "9"}, Code: -1, Signal: "KILL"}
	if got, want := e.Error(), "run sleep 9 on local: killed by signal KILL"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
