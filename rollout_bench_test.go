package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// BenchmarkRolloutSandboxCluster times, as whole processes, `k3sca run
// rollout` carrying a self-signed CA rotation to the five nodes of a 3+2
// sandbox cluster: each run builds a new cluster and runs `run rotate-ca
// --skip rollout` on s1 (not timed), then the rollout (timed): the new
// token on every node, servers restarted one at a time, then agents, each
// verified (a server's /cacerts and serving certificate on a 127.0.0.1
// listener, an agent's CA file). It fails unless every node ends done.
// The same rollout over a real sshd is BenchmarkRolloutOverSSH (steps).
func BenchmarkRolloutSandboxCluster(b *testing.B) {
	bin := builtBinary(b)
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "cl")
		out, err := exec.Command(bin, "sandbox", "--servers", "3", "--agents", "2", "--dir", dir, "--no-tui").Output()
		if err != nil {
			b.Fatalf("sandbox cluster: %v", err)
		}
		dd := strings.TrimSpace(string(out))
		if out, err := exec.Command(bin, "run", "rotate-ca", "-d", dd, "--skip", "rollout", "--yes", "--confirm", "load").CombinedOutput(); err != nil {
			b.Fatalf("rotate-ca on s1: %v\n%s", err, out)
		}
		b.StartTimer()
		start := time.Now()
		out, err = exec.Command(bin, "run", "rollout", "-d", dd, "--yes", "--confirm", "sandbox").CombinedOutput()
		ds = append(ds, time.Since(start))
		if err != nil || !strings.Contains(string(out), "5 nodes: 5 done") {
			b.Fatalf("rollout: %v\n%s", err, out)
		}
	}
	testkit.ReportSpread(b, "", ds)
}
