package steps

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// Environment of the fake rc-service's helper process.
const (
	orcEnvRoot     = "K3SCA_ORC_ROOT"     // the OpenRC node's root
	orcEnvDataDir  = "K3SCA_ORC_DATADIR"  // its k3s data dir, on this machine
	orcEnvServerCA = "K3SCA_ORC_SERVERCA" // the server CA the servers serve
)

// TestOpenRCServiceHelperProcess is the fake rc-service of an OpenRC
// agent node (openRCAgent puts it on the sshd session's PATH), as OpenRC
// does not run here: `rc-service <unit> status` exits as openrc-run's
// status does (0 started, 32 crashed, 3 stopped) from the state in
// run/<unit>.state; `rc-service <unit> stop` stops it; `rc-service <unit>
// restart` does what a k3s agent does at start: it refuses a token whose
// CA hash is not the servers' CA (crashed, exit 1, k3s's message), else
// takes that CA as agent/server-ca.crt, has the server issue the
// certificates it lacks (a leaf rotation removed them) and is started. An unknown service exits 1, as
// rc-service does. Every call is logged to run/commands. It does nothing
// in a normal test run.
func TestOpenRCServiceHelperProcess(t *testing.T) {
	testkit.ChildOnly(t)
	root := os.Getenv(orcEnvRoot)
	args := flag.Args()
	code, msg := orcRun(root, args)
	if msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(code)
}

func orcRun(root string, args []string) (int, string) {
	if len(args) != 2 {
		return 1, "usage: rc-service <service> <command>"
	}
	unit, verb := args[0], args[1]
	logf := func(s string) {
		f, err := os.OpenFile(filepath.Join(root, "run", "commands"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = f.WriteString(s + "\n")
			_ = f.Close()
		}
	}
	logf("rc-service " + unit + " " + verb)
	if _, err := os.Stat(filepath.Join(root, "etc", "init.d", unit)); err != nil {
		return 1, fmt.Sprintf(" * rc-service: service '%s' does not exist", unit)
	}
	stateFile := filepath.Join(root, "run", unit+".state")
	switch verb {
	case "status":
		b, _ := os.ReadFile(stateFile)
		switch strings.TrimSpace(string(b)) {
		case "started":
			return 0, ""
		case "crashed":
			return 32, ""
		}
		return 3, ""
	case "stop":
		if err := os.WriteFile(stateFile, []byte("stopped\n"), 0o644); err != nil {
			return 1, err.Error()
		}
		return 0, " * Stopping " + unit + " ... [ ok ]"
	case "restart":
		if err := orcStart(root); err != nil {
			_ = os.WriteFile(stateFile, []byte("crashed\n"), 0o644)
			return 1, err.Error()
		}
		if err := os.WriteFile(stateFile, []byte("started\n"), 0o644); err != nil {
			return 1, err.Error()
		}
		return 0, " * Starting " + unit + " ... [ ok ]"
	}
	return 1, "unknown command " + verb
}

// orcStart is a k3s agent's start: its token's CA hash must be the
// servers' CA's.
func orcStart(root string) error {
	host, err := remote.NewLocal(root, nil)
	if err != nil {
		return err
	}
	probe, err := cluster.Probe(context.Background(), host, product.K3s)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(os.Getenv(orcEnvServerCA))
	if err != nil {
		return err
	}
	h, err := pki.HashCA(ca, testkit.Now)
	if err != nil {
		return err
	}
	for _, pl := range probe.Places {
		if pl.PinsCA() && pl.CAHash != h.Hex {
			return errors.New("token CA hash does not match the Cluster CA certificate hash")
		}
	}
	agent := filepath.Join(os.Getenv(orcEnvDataDir), "agent")
	if err := os.WriteFile(filepath.Join(agent, "server-ca.crt"), ca, 0o644); err != nil {
		return err
	}
	// The certificates it lacks, from the server whose CA it trusts (its
	// server dir holds that CA); the node's name is its root's (a
	// sandbox cluster's nodes/<name>).
	set, err := pki.ReissueAgentCerts(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now},
		filepath.Dir(filepath.Dir(os.Getenv(orcEnvServerCA))), agent, filepath.Base(root))
	if err != nil {
		return err
	}
	var missing []pki.StagedFile
	for _, f := range set.Files {
		if _, err := os.Stat(filepath.Join(agent, filepath.FromSlash(f.Path))); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, f)
		}
	}
	set.Files = missing
	return set.Write(context.Background(), agent, testkit.Now)
}

// openRCAgent makes the sandbox agent n an OpenRC node, as install.sh
// leaves one: no systemd unit, /etc/init.d/k3s-agent whose command= is the
// node's (simulated) k3s binary, the token in /etc/rancher/k3s/k3s-agent.env
// which the script sources; its service started. It returns a dir holding
// the fake rc-service (TestOpenRCServiceHelperProcess) for that node, to
// put first on PATH; serverCA is the file of the CA the servers serve.
func openRCAgent(t *testing.T, n sandbox.Node, serverCA string) string {
	t.Helper()
	sys := filepath.Join(n.Root, "etc", "systemd", "system")
	env, err := os.ReadFile(filepath.Join(sys, "k3s-agent.service.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"k3s-agent.service", "k3s-agent.service.env"} {
		if err := os.Remove(filepath.Join(sys, f)); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf(`#!/sbin/openrc-run

depend() {
    after network-online
    want cgroups
}

supervisor=supervise-daemon
name=k3s-agent
command="%s"
command_args="agent \
    >>/var/log/k3s-agent.log 2>&1"

output_log=/var/log/k3s-agent.log
error_log=/var/log/k3s-agent.log

pidfile="/var/run/k3s-agent.pid"
respawn_delay=5
respawn_max=0

set -o allexport
if [ -f /etc/environment ]; then . /etc/environment; fi
if [ -f /etc/rancher/k3s/k3s-agent.env ]; then . /etc/rancher/k3s/k3s-agent.env; fi
set +o allexport
`, sandbox.Program(n.DataDir, product.K3s))
	files := map[string]string{
		filepath.Join(n.Root, "etc", "init.d", "k3s-agent"):             script,
		filepath.Join(n.Root, "etc", "rancher", "k3s", "k3s-agent.env"): string(env),
		filepath.Join(n.Root, "run", "k3s-agent.state"):                 "started\n",
	}
	for f, body := range files {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	argv, mark := testkit.ChildCommand(t, "TestOpenRCServiceHelperProcess")
	fake := fmt.Sprintf("#!/bin/sh\nexec env %s %s=%s %s=%s %s=%s %s -- \"$@\"\n", remote.ShellQuote([]string{mark}),
		orcEnvRoot, remote.ShellQuote([]string{n.Root}), orcEnvDataDir, remote.ShellQuote([]string{n.DataDir}),
		orcEnvServerCA, remote.ShellQuote([]string{serverCA}), remote.ShellQuote(argv))
	if err := os.WriteFile(filepath.Join(bin, "rc-service"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// orcCommands are the rc-service calls on an OpenRC node made by openRCAgent.
func orcCommands(t *testing.T, n sandbox.Node) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.Root, "run", "commands"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// caHashOf is the CA hash of a bundle.
func caHashOf(t *testing.T, ca []byte) string {
	t.Helper()
	h, err := pki.HashCA(ca, testkit.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h.Hex
}

// TestRotateCALeavesAStoppedNodeStopped: on a sandbox cluster whose a1
// someone stopped, rotate-ca's rollout shows a1's state in its plan,
// brings its token in line, does not start it and says so with the
// command that starts it; the others are done. A dry run afterwards has
// nothing left to do but a1, stopped: it prints no command to roll out.
func TestRotateCALeavesAStoppedNodeStopped(t *testing.T) {
	c, env := sandboxCluster(t)
	a1 := c.Nodes[3]
	if err := os.WriteFile(filepath.Join(a1.DataDir, ".k3sca-service"), []byte("inactive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	caBefore, err := os.ReadFile(filepath.Join(a1.DataDir, "agent", "server-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(env.StageRoot, "stage")}, Runner{Yes: true, Words: []string{"load", "sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-ca: %v\n%s", err, out)
	}
	rr := rep.Steps[len(rep.Steps)-1].Outcome.Data.(*rollout.Report)
	if got := rr.Summary(); got != "5 nodes: 4 done, 1 stopped" {
		t.Errorf("summary %q", got)
	}
	n := rr.Nodes[3]
	if n.State != rollout.StateStopped || n.ServiceState != rollout.ServiceInactive || n.Restarted || len(n.Verified) > 0 {
		t.Errorf("a1: %+v, want stopped, inactive, not restarted, nothing verified", n)
	}
	for _, h := range clustertest.TokenHashes(t, a1.Root) {
		if h != rep.Result.NewHash {
			t.Errorf("a1's token holds %s, want the new hash: its files are brought in line", h)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(a1.DataDir, "agent", "server-ca.crt")); string(b) != string(caBefore) {
		t.Error("a1 was started: its CA file changed")
	}
	for _, want := range []string{"a1  (agent: left stopped: its service was inactive before the rollout", "agent: restart, then wait until it shows the new CA (service active"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if !slices.ContainsFunc(rep.Steps[len(rep.Steps)-1].Outcome.Warnings, func(w string) bool { return strings.HasPrefix(w, "a1: its service was inactive") }) {
		t.Errorf("no warning about a1: %v", rep.Steps[len(rep.Steps)-1].Outcome.Warnings)
	}
	dry, out, err := runFlow(t, env, FlowRollout, nil, Runner{DryRun: true})
	if err != nil || !dry.OK || strings.Contains(out, "roll it out with") {
		t.Errorf("the dry run afterwards: %v\n%s", err, out)
	}
	if dr := dry.Steps[0].Outcome.Data.(*rollout.Report); dr.Summary() != "5 nodes: 4 done, 1 stopped" {
		t.Errorf("the dry run afterwards: %s", dr.Summary())
	}
}
