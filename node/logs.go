package node

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// ErrorLogReader is implemented by service managers that can show the
// error lines of a unit's log: after a start that does not come back, the
// operator sees k3s's own reason.
type ErrorLogReader interface {
	// ErrorLog returns the last n lines of unit's log that k3s logged at
	// level error or fatal, oldest first.
	ErrorLog(ctx context.Context, unit string, n int) ([]string, error)
	// ErrorLogCommand is the shell command that shows the same lines, for
	// the operator to run.
	ErrorLogCommand(unit string) string
}

// ErrorLinesOf is the command that shows the error lines of a log file.
func ErrorLinesOf(file string) string {
	return fmt.Sprintf("grep -E 'level=(error|fatal)' %s | tail -n 20", file)
}

// k3sErrorLine matches a logrus line of level error or fatal, as k3s logs.
var k3sErrorLine = regexp.MustCompile(`level=(error|fatal)`)

// LastErrorLines keeps the last n lines of out that match k3sErrorLine.
func LastErrorLines(out []byte, n int) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if k3sErrorLine.Match(sc.Bytes()) {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// journalArgs are journalctl's arguments for the recent log of unit.
func journalArgs(unit string) []string {
	return []string{"-u", unit, "--no-pager", "-o", "cat", "-n", "2000"}
}

// ErrorLogCommand implements ErrorLogReader.
func (Systemd) ErrorLogCommand(unit string) string {
	return "journalctl " + strings.Join(journalArgs(unit), " ") + " | grep -E 'level=(error|fatal)' | tail -n 20"
}

// ErrorLog implements ErrorLogReader through journalctl.
func (Systemd) ErrorLog(ctx context.Context, unit string, n int) ([]string, error) {
	out, err := exec.CommandContext(ctx, "journalctl", journalArgs(unit)...).Output()
	if err != nil {
		return nil, fmt.Errorf("journalctl -u %s: %w", unit, err)
	}
	return LastErrorLines(out, n), nil
}

// OpenRCLog is where k3s's install script has OpenRC write the service's
// output.
func OpenRCLog(unit string) string { return "/var/log/" + unit + ".log" }

// ErrorLogCommand implements ErrorLogReader.
func (OpenRC) ErrorLogCommand(unit string) string { return ErrorLinesOf(OpenRCLog(unit)) }

// ErrorLog implements ErrorLogReader from the service's log file.
func (OpenRC) ErrorLog(_ context.Context, unit string, n int) ([]string, error) {
	out, err := os.ReadFile(OpenRCLog(unit))
	if err != nil {
		return nil, fmt.Errorf("read the %s log: %w", unit, err)
	}
	return LastErrorLines(out, n), nil
}
