package steps

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// Environment of the child process of TestRolloutKilled.
const (
	rkEnvInventory = "K3SCA_RK_INVENTORY"
	rkEnvHash      = "K3SCA_RK_HASH"
	rkEnvPoint     = "K3SCA_RK_POINT"
	rkEnvPutBack   = "K3SCA_RK_PUTBACK"
)

// hookHost calls hit inside each file write on the node, with the write's
// own points ("<node> backup temp", "<node> temp": a temp file written,
// not yet linked or renamed), and after it: "<node> written"; inside each
// put-back at "<node> put back temp" and after it at "<node> put back".
type hookHost struct {
	rollout.Host
	name string
	hit  func(string)
}

func (h hookHost) WriteFile(ctx context.Context, p string, data []byte, opts remote.WriteOptions) (string, error) {
	opts.Hook = func(point string) { h.hit(h.name + " " + point) }
	b, err := h.Host.WriteFile(ctx, p, data, opts)
	h.hit(h.name + " written")
	return b, err
}

func (h hookHost) PutBack(ctx context.Context, p, backup string, expect []byte, opts remote.PutBackOptions) error {
	opts.Hook = func(point string) { h.hit(h.name + " put back " + point) }
	err := h.Host.PutBack(ctx, p, backup, expect, opts)
	h.hit(h.name + " put back")
	return err
}

// TestRolloutHelperProcess is the child of TestRolloutKilled: it runs the
// rollout on the sandbox cluster of the inventory in its environment,
// printing every point it passes ("s2 restart", "s2 written", "s2 done"),
// and SIGKILLs itself at the point named there. It does nothing in a
// normal test run.
func TestRolloutHelperProcess(t *testing.T) {
	testkit.ChildOnly(t)
	inv := os.Getenv(rkEnvInventory)
	point := os.Getenv(rkEnvPoint)
	hit := func(p string) {
		fmt.Println(p)
		if p == point {
			testkit.KillSelf()
		}
	}
	if os.Getenv(lrEnvMode) != "" {
		leafRolloutChild(t, inv, hit)
		return
	}
	c, err := sandbox.OpenCluster(inv)
	if err != nil || c == nil {
		t.Fatalf("sandbox cluster %s: %v", inv, err)
	}
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	for i := range members {
		members[i].Host = hookHost{Host: members[i].Host, name: members[i].Node.Name, hit: hit}
	}
	testkit.Ready()
	opts := rollout.Options{NewHash: os.Getenv(rkEnvHash), Now: now, Poll: 10 * time.Millisecond, Timeout: 10 * time.Second,
		PutBack: os.Getenv(rkEnvPutBack) != "",
		Progress: func(nr rollout.NodeReport) {
			if nr.Step != "" {
				hit(nr.Name + " " + nr.Step)
			} else {
				hit(nr.Name + " " + string(nr.State))
			}
		}}
	if _, err := rollout.Run(context.Background(), product.K3s, members, opts); err != nil {
		t.Fatal(err)
	}
}

// rkRunChild runs the rollout in a child process killed at point (or,
// with delay >= 0, delay after it reported ready); it returns whether the
// child was killed and the points it passed. Extra env entries go to the
// child (rkEnvPutBack=1: the undo).
func rkRunChild(t *testing.T, c *sandbox.Cluster, hash, point string, delay time.Duration, env ...string) (bool, []string) {
	t.Helper()
	ch := testkit.StartChild(t, "TestRolloutHelperProcess", append([]string{rkEnvInventory + "=" + c.Inventory, rkEnvHash + "=" + hash, rkEnvPoint + "=" + point}, env...)...)
	if delay >= 0 {
		ch.KillAfter(delay)
	}
	r := ch.Wait()
	return r.Killed, r.Texts()
}

// TestRolloutKilled: k3sca killed mid-rollout, at every kind of point
// (before an edit, inside a file write with its temp file written, after
// it, before a restart, before the check of a restarted node, on servers
// and agents) and at random moments, then run again, finishes with every
// node done and no file edited twice: one backup per edited file, holding
// the file as it was before the rollout, and no temp file left behind.
func TestRolloutKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	t.Run("at each point", func(t *testing.T) {
		c, newHash := rotatedCluster(t)
		for _, point := range []string{"s1 backup temp", "s1 edit", "s1 temp", "s1 written", "s2 temp", "s2 restart", "s2 check",
			"s3 edit", "s3 written", "a1 backup temp", "a1 restart", "a1 check", "a2 temp", "a2 written"} {
			killed, passed := rkRunChild(t, c, newHash, point, -1)
			if !killed {
				t.Fatalf("the child finished without passing %q: %v", point, passed)
			}
		}
		rkFinish(t, c, newHash)
	})
	t.Run("at random moments", func(t *testing.T) {
		c, newHash := rotatedCluster(t)
		seed := rand.Uint64()
		rnd := rand.New(rand.NewPCG(seed, 0))
		t.Logf("seed %d", seed)
		kills := 0
		for range 8 {
			delay := time.Duration(rnd.Int64N(int64(400 * time.Millisecond)))
			killed, passed := rkRunChild(t, c, newHash, "", delay)
			if !killed {
				break
			}
			kills++
			t.Logf("killed after %s, past %v", delay, passed)
		}
		t.Logf("%d kills", kills)
		rkFinish(t, c, newHash)
	})
}

// rkFinish runs the rollout again in this process and checks it finished
// the job: every node done, every token on the new hash, one backup per
// edited file holding the old token, no temp file of a killed write left.
func rkFinish(t *testing.T, c *sandbox.Cluster, newHash string) {
	t.Helper()
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	opts := rollout.Options{NewHash: newHash, Now: now, Poll: 10 * time.Millisecond, Timeout: 10 * time.Second}
	rep, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || !rep.OK {
		t.Fatalf("the rerun: %v\n%+v", err, rep)
	}
	dry, err := rollout.Run(context.Background(), product.K3s, members, rollout.Options{NewHash: newHash, Now: now, DryRun: true})
	if err != nil || dry.Summary() != "5 nodes: 5 done" {
		t.Errorf("after the rerun: %v %s", err, dry.Summary())
	}
	for _, n := range c.Nodes {
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != newHash {
				t.Errorf("%s: a token still holds %s", n.Name, h)
			}
		}
		bs := backups(t, n)
		if len(bs) != 1 {
			t.Errorf("%s: backups %v, want one (its one token file, edited once)", n.Name, bs)
			continue
		}
		b, err := os.ReadFile(bs[0])
		if err != nil || !strings.Contains(string(b), c.Token.CAHash) || strings.Contains(string(b), newHash) {
			t.Errorf("%s: the backup %s is not the file before the rollout: %q %v", n.Name, bs[0], b, err)
		}
		_ = filepath.WalkDir(n.Root, func(p string, _ os.DirEntry, _ error) error {
			if strings.Contains(filepath.Base(p), ".k3sca-tmp-") {
				t.Errorf("%s: a killed write's temp file is left: %s", n.Name, p)
			}
			return nil
		})
	}
}
