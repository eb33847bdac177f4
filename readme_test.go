package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// readmeMonitoringCommands are the k3sca command lines of the README's
// Expiry monitoring section: the units' ExecStart, the cron line's command
// and the plain command lines, each as argv after the binary.
func readmeMonitoringCommands(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "## Expiry monitoring")
	if start < 0 {
		t.Fatal("README has no Expiry monitoring section")
	}
	s = s[start+3:]
	if end := strings.Index(s, "\n## "); end >= 0 {
		s = s[:end]
	}
	const bin = "/usr/local/bin/k3sca "
	cron := regexp.MustCompile(`^(\S+ ){5}root `)
	var cmds [][]string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimPrefix(l, "ExecStart=")
		l = cron.ReplaceAllString(l, "")
		if !strings.HasPrefix(l, bin) {
			continue
		}
		if strings.ContainsAny(l, `"'\$|;&`) {
			t.Fatalf("README command needs a shell to split: %s", l)
		}
		cmds = append(cmds, strings.Fields(strings.TrimPrefix(l, bin)))
	}
	return cmds
}

// TestREADMEMonitoring runs every k3sca command the README's monitoring
// section prints (the systemd service, the cron line, the Nagios command)
// on a sandbox, as printed but for the textfile collector's dir, which
// moves into the test's temp dir: each exits 0 on a healthy node and a
// textfile written is one the Prometheus parser reads.
func TestREADMEMonitoring(t *testing.T) {
	cmds := readmeMonitoringCommands(t)
	if len(cmds) != 3 {
		t.Fatalf("found %d commands in the README's monitoring section, want 3 (service, cron, Nagios): %q", len(cmds), cmds)
	}
	sb := sandboxtest.New(t)
	t.Setenv("K3SCA_DATA_DIR", sb.DataDir)
	for _, argv := range cmds {
		t.Run(strings.Join(argv, " "), func(t *testing.T) {
			dir := t.TempDir()
			var textfile string
			for i, a := range argv {
				if strings.HasPrefix(a, "/var/lib/node_exporter/textfile_collector/") {
					textfile = filepath.Join(dir, filepath.Base(a))
					argv[i] = textfile
				}
			}
			r := runAt(t, argv...)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			if textfile == "" {
				if !strings.HasPrefix(r.stdout, "CERTIFICATES OK - ") {
					t.Errorf("no Nagios status line: %s", r.stdout)
				}
				return
			}
			b, err := os.ReadFile(textfile)
			if err != nil {
				t.Fatal(err)
			}
			if fams := parseProm(t, b); fams["x509_cert_not_after"] == nil {
				t.Errorf("textfile without x509_cert_not_after")
			}
		})
	}
}

// TestREADMEUnits checks the README's systemd units with systemd-analyze
// verify (offline; it needs the ExecStart binary to exist, so the test
// binary stands in for /usr/local/bin/k3sca, which TestREADMEMonitoring
// runs): a bad key or a timer with nothing to trigger fails it.
func TestREADMEUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	units := regexp.MustCompile("(?s)```ini\n# /etc/systemd/system/(\\S+)\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(units) != 2 {
		t.Fatalf("found %d units in the README, want the service and its timer", len(units))
	}
	var paths []string
	for _, u := range units {
		body := strings.ReplaceAll(u[2], "/usr/local/bin/k3sca", self)
		body = strings.ReplaceAll(body, "/var/lib/node_exporter/textfile_collector", dir)
		p := filepath.Join(dir, u[1])
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if filepath.Ext(paths[0]) != ".service" || strings.TrimSuffix(filepath.Base(paths[0]), ".service") != strings.TrimSuffix(filepath.Base(paths[1]), ".timer") {
		t.Fatalf("the timer %s does not trigger the service %s by name", paths[1], paths[0])
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, paths...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=warning")
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
