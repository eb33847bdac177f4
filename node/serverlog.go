package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/k3sca/k3sca/remote"
)

// ServerLogs finds the line a k3s server on this node logged for an error
// ID: in journald (journalctl -u <unit>), else in the log file k3s's
// install script gives it under OpenRC (/var/log/<unit>.log).
type ServerLogs struct {
	// Run runs a command and returns its standard output; nil runs the
	// program found on PATH.
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
	// LogFile is the OpenRC log file; "" is OpenRCLog(unit).
	LogFile string
}

// LogMatch is the line k3s logged for an error ID.
type LogMatch struct {
	// Reason is k3s's message after "<component> error ID <id>: ".
	Reason string
	// Time is the line's time= field, as k3s wrote it.
	Time string
	// Source is where the line was found: the journalctl command or the
	// log file.
	Source string
}

// errorIDSince is how long before the request a log line is looked for:
// room for a server clock a little behind this process's.
const errorIDSince = time.Minute

// journalctlArgs are the arguments that list unit's log since t, as bare
// messages (k3s's logrus lines).
func journalctlArgs(unit string, since time.Time) []string {
	return []string{"-u", unit, "--since", "@" + strconv.FormatInt(since.Add(-errorIDSince).Unix(), 10), "--no-pager", "-q", "-o", "cat"}
}

// Command is the shell command that shows the line of id, for the
// operator to run on the server.
func (s ServerLogs) Command(unit, component, id string, since time.Time) string {
	grep := remote.ShellQuote([]string{"grep", component + " error ID " + id + ": "})
	return remote.ShellQuote(append([]string{"journalctl"}, journalctlArgs(unit, since)...)) + " | " + grep +
		" (under OpenRC: " + grep + " " + remote.ShellQuote([]string{s.logFile(unit)}) + ")"
}

func (s ServerLogs) logFile(unit string) string {
	if s.LogFile != "" {
		return s.LogFile
	}
	return OpenRCLog(unit)
}

// Find looks for the line "<component> error ID <id>: <reason>" that k3s
// logs (pkg/util SendErrorWithID) at level error, the last one since
// since: first in journald, then in the OpenRC log file. Without one, the
// error says where it looked.
func (s ServerLogs) Find(ctx context.Context, unit, component, id string, since time.Time) (LogMatch, error) {
	run := s.Run
	if run == nil {
		run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, name, args...).Output()
		}
	}
	var looked []string
	args := journalctlArgs(unit, since)
	src := "journalctl " + strings.Join(args[:4], " ")
	out, err := run(ctx, "journalctl", args...)
	switch {
	case err != nil:
		looked = append(looked, fmt.Sprintf("%s failed (%v)", src, err))
	default:
		if m, ok := findErrorID(out, component, id); ok {
			m.Source = src
			return m, nil
		}
		looked = append(looked, "no such line in "+src)
	}
	file := s.logFile(unit)
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		looked = append(looked, file+" does not exist")
	case err != nil:
		looked = append(looked, fmt.Sprintf("%s: %v", file, err))
	default:
		// The file holds every start since it was rotated; an ID is
		// random, so the last line with it is this request's.
		if m, ok := findErrorID(data, component, id); ok {
			m.Source = file
			return m, nil
		}
		looked = append(looked, "no such line in "+file)
	}
	return LogMatch{}, errors.New(strings.Join(looked, "; "))
}

// logrusField matches key=value of logrus's text format: a bare value or
// a %q-quoted one.
var logrusField = regexp.MustCompile(`(?:^|\s)(time|level|msg)=("(?:[^"\\]|\\.)*"|\S*)`)

// findErrorID returns the last line of out that k3s logged at level error
// with the message "<component> error ID <id>: <reason>".
func findErrorID(out []byte, component, id string) (LogMatch, bool) {
	prefix := component + " error ID " + id + ": "
	var found LogMatch
	ok := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), []byte(id)) {
			continue
		}
		fields := map[string]string{}
		for _, m := range logrusField.FindAllStringSubmatch(sc.Text(), -1) {
			v := m[2]
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			fields[m[1]] = v
		}
		if reason, cut := strings.CutPrefix(fields["msg"], prefix); cut && fields["level"] == "error" {
			found, ok = LogMatch{Reason: reason, Time: fields["time"]}, true
		}
	}
	return found, ok
}

// IsThisHost reports whether a server URL names this host: a loopback
// address, "localhost", or an address of one of its interfaces.
func IsThisHost(serverURL string) bool {
	u, err := url.Parse(serverURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ips := []net.IP{net.ParseIP(h)}
	if ips[0] == nil {
		addrs, err := net.LookupIP(h)
		if err != nil {
			return false
		}
		ips = addrs
	}
	local, _ := net.InterfaceAddrs()
	for _, ip := range ips {
		if ip.IsLoopback() {
			return true
		}
		for _, a := range local {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}
