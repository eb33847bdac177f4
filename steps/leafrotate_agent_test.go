package steps

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestSandboxAgentRotateRoundTrip is the failure found on a real k3s
// server: `rotate-certs` on a server that runs an agent, whose tls and agent
// dirs share file names, then the restart that re-issues the agent's certs.
func TestSandboxAgentRotateRoundTrip(t *testing.T) {
	sb := sandboxtest.New(t) // a sandbox server runs its agent, as a real k3s server does
	agent := pki.AgentDir(sb.DataDir)
	agentBefore := sandboxtest.Snapshot(t, agent)
	tlsBefore := sandboxtest.Snapshot(t, filepath.Join(sb.ServerDir, "tls"))
	now := testkit.Now
	lr, err := NewLeafRotate(product.K3s, sb.DataDir, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lr.Run(context.Background()); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	backup := sandboxtest.Snapshot(t, lr.plan.BackupDir)
	for rel, content := range tlsBefore { // content and mtime: CopyFile keeps both
		if backup[rel] != content {
			t.Errorf("backup of server/tls/%s differs", rel)
		}
	}
	for _, c := range pki.AgentCerts(product.K3s, sandbox.AgentNode) {
		for _, f := range []string{c.Name + ".crt", c.Name + ".key"} {
			if backup["agent/"+f] != agentBefore[f] {
				t.Errorf("backup agent/%s differs from the agent's file", f)
			}
			if _, err := os.Stat(filepath.Join(agent, f)); !os.IsNotExist(err) {
				t.Errorf("agent %s not removed: %v", f, err)
			}
		}
	}
	// A name both have is kept twice, each where it came from; every
	// private key in the backup stays 0600.
	var both, keys int
	for rel := range backup {
		if _, ok := agentBefore[rel]; ok && filepath.Ext(rel) == ".key" {
			both++
			if backup[rel] == backup["agent/"+rel] {
				t.Errorf("%s: the server's and the agent's copies in the backup are the same file", rel)
			}
		}
		if filepath.Ext(rel) != ".key" {
			continue
		}
		keys++
		fi, err := os.Stat(filepath.Join(lr.plan.BackupDir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("backup %s: mode %o, want 600", rel, fi.Mode().Perm())
		}
	}
	if both == 0 || keys == 0 {
		t.Fatalf("the backup holds %d keys, %d of a name the server and the agent both have; want some of each", keys, both)
	}
	rep, err := sandbox.SimulateRestart(context.Background(), sb.DataDir, product.K3s, now)
	if err != nil {
		t.Fatalf("agent start: %v", err)
	}
	if rep.AgentFiles != 8 {
		t.Fatalf("agent start wrote %d files, want the 4 removed pairs", rep.AgentFiles)
	}
	sandboxtest.CheckAgentSigned(t, sb.ServerDir, agent)
}
