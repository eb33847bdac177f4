package remote

import (
	"bytes"
	"fmt"
	"path"
	"strings"
)

// ExitError is a command that ran and exited non-zero (or was killed by a
// signal) on a node.
type ExitError struct {
	// Node names the node (Endpoint.String).
	Node string
	// Argv is the command as asked (without a sudo wrapper).
	Argv []string
	// Code is the exit status; -1 when the command was killed by a signal
	// or exited without a status.
	Code int
	// Signal names the signal that killed the command, if one did.
	Signal string
	// Stderr is everything the command wrote to stderr.
	Stderr []byte
}

// Error names the command, the node, the exit status and the first line of
// stderr.
func (e *ExitError) Error() string {
	status := fmt.Sprintf("exit status %d", e.Code)
	if e.Signal != "" {
		status = "killed by signal " + e.Signal
	}
	msg := fmt.Sprintf("run %s on %s: %s", argvString(e.Argv), e.Node, status)
	if line := firstLine(e.Stderr); line != "" {
		msg += ": " + line
	}
	return msg
}

// firstLine is the first non-empty line of b, trimmed and cut to 300 bytes.
func firstLine(b []byte) string {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if s := strings.TrimSpace(string(l)); s != "" {
			if len(s) > 300 {
				s = s[:300] + "…"
			}
			return s
		}
	}
	return ""
}

// argvString shows argv the way a POSIX shell would take it, for messages
// and logs.
func argvString(argv []string) string {
	return ShellQuote(argv)
}

// ShellQuote turns argv into one command line for a POSIX shell (sh, dash,
// bash, zsh: the login shells an SSH server runs commands with): every
// argument that is not made only of safe characters is put in single
// quotes, a single quote inside becoming '\”. Nothing in an argument is
// interpreted by the shell: not $, `, \, *, ;, spaces nor newlines.
func ShellQuote(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = quoteArg(a)
	}
	return strings.Join(parts, " ")
}

func quoteArg(a string) string {
	if a == "" {
		return "''"
	}
	safe := true
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// SudoArgv is argv run through sudo without ever prompting:
// [sudo -n -- argv...]. sudo is the program ("" means "sudo"). -n makes a
// sudo that would ask for a password fail at once instead of waiting for
// an answer that never comes; -- ends sudo's options so argv[0] cannot be
// taken for one.
func SudoArgv(sudo string, argv []string) []string {
	if sudo == "" {
		sudo = "sudo"
	}
	out := make([]string, 0, len(argv)+3)
	out = append(out, sudo, "-n", "--")
	return append(out, argv...)
}

// SudoRefusedError is sudo -n refusing to run a command without a password
// (or without a terminal) for the login user on a host.
type SudoRefusedError struct {
	// User is the login that asked sudo; Host the node.
	User, Host string
	// Stderr is what sudo said.
	Stderr string
	// Err is the failed sudo command (an *ExitError).
	Err error
}

// Unwrap is the failed sudo command.
func (e *SudoRefusedError) Unwrap() error { return e.Err }

// Error names the user and the host and says what to change.
func (e *SudoRefusedError) Error() string {
	return fmt.Sprintf("sudo -n was refused for user %s on %s (%s): k3sca needs root there and never types a password; "+
		"give %s passwordless sudo (NOPASSWD) or log in as root", e.User, e.Host, e.Stderr, e.User)
}

// sudoRefusal reports whether stderr of a failed sudo -n is sudo itself
// refusing (a password or a terminal would be needed, or the user may not
// sudo at all) rather than the command failing.
func sudoRefusal(stderr []byte) bool {
	s := string(stderr)
	if !strings.HasPrefix(strings.TrimSpace(s), "sudo:") {
		return false
	}
	for _, m := range []string{"password is required", "a terminal is required", "must have a tty", "not in the sudoers", "is not allowed to execute", "may not run sudo"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// isAbsClean reports whether p is an absolute, clean slash path.
func isAbsClean(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p
}
