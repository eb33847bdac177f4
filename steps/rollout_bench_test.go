package steps

import (
	"context"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/rollout"
)

// BenchmarkRolloutOverSSH times the rollout of a self-signed CA rotation
// to the five nodes of a 3+2 sandbox cluster, every node reached over a
// real sshd on 127.0.0.1 (one connection per node, dialled before the
// clock starts): the token files edited over SFTP, servers restarted one
// at a time, then agents, each verified. Each run gets a new cluster
// rotated on s1 (not timed). It reports min, median and max in ms and
// fails unless every node ends done. The sandbox rollout as a whole
// process is BenchmarkRolloutSandboxCluster (package main).
func BenchmarkRolloutOverSSH(b *testing.B) {
	ssh := startSSHClient(b)
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		c, newHash := rotatedCluster(b)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		members, release := sandboxMembers(b, c, testkit.Clock)
		for i := range members {
			members[i].Host = ssh.dial(ctx, b, c.Nodes[i])
		}
		b.StartTimer()
		start := time.Now()
		rep, err := rollout.Run(ctx, product.K3s, members, rollout.Options{NewHash: newHash, Now: testkit.Clock, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second})
		ds = append(ds, time.Since(start))
		b.StopTimer()
		release()
		cancel()
		if err != nil {
			b.Fatalf("rollout over ssh: %v", err)
		}
		if !rep.OK || rep.Summary() != "5 nodes: 5 done" {
			b.Fatalf("rollout over ssh: %s", rep.Summary())
		}
		b.StartTimer()
	}
	testkit.ReportSpread(b, "", ds)
}
