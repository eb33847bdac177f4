package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// fakeService counts restarts.
type fakeService struct{ restarts int }

func (f *fakeService) Restart(context.Context) error          { f.restarts++; return nil }
func (f *fakeService) IsActive(context.Context) (bool, error) { return true, nil }

// TestRunStopsAtTheFirstFailure: a node that never shows the new CA fails
// the run; the nodes after it are not probed, edited or restarted.
func TestRunStopsAtTheFirstFailure(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	mk := func(name string, check Check) (Member, *fakeService) {
		svc := &fakeService{}
		return Member{Node: cluster.Node{Name: name, Role: cluster.Fact[cluster.Role]{Value: cluster.RoleServer}},
			Host: memHost{cluster.MemFiles{}}, Service: svc, Check: check}, svc
	}
	ok := func(context.Context, Want) error { return nil }
	never := func(context.Context, Want) error { return errors.New("serves the old CA") }
	a, sa := mk("s1", ok)
	b, sb := mk("s2", never)
	c, sc := mk("s3", ok)
	rep, err := Run(context.Background(), product.K3s, []Member{a, b, c}, Options{NewHash: hash, Poll: time.Millisecond, Timeout: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "node s2") {
		t.Fatalf("err %v", err)
	}
	if got := rep.Summary(); got != "3 nodes: 1 done, 1 failed, 1 untouched" {
		t.Errorf("summary %q", got)
	}
	if sa.restarts != 0 || sb.restarts != 1 || sc.restarts != 0 {
		t.Errorf("restarts %d %d %d: want a done node left alone, the failed one restarted once, the last untouched", sa.restarts, sb.restarts, sc.restarts)
	}
}

// memHost is cluster.MemFiles with a WriteFile that is never reached.
type memHost struct{ cluster.MemFiles }

func (memHost) WriteFile(context.Context, string, []byte, remote.WriteOptions) (string, error) {
	return "", errors.New("not expected")
}
