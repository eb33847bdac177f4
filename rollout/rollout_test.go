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

// fakeService counts restarts, and those that found before() true.
type fakeService struct {
	restarts, withTrigger int
	before                func() bool
}

func (f *fakeService) Restart(context.Context) error {
	f.restarts++
	if f.before != nil && f.before() {
		f.withTrigger++
	}
	return nil
}

func (f *fakeService) IsActive(context.Context) (bool, error) { return true, nil }

func (f *fakeService) State(context.Context) (ServiceState, error) { return ServiceActive, nil }

// TestRunStopsAtTheFirstFailure: a node that never shows the new CA fails
// the run; the nodes after it are not probed, edited or restarted.
func TestRunStopsAtTheFirstFailure(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	trigger := "/var/lib/rancher/k3s/server/tls/dynamic-cert-regenerate"
	mk := func(name string, check Check) (Member, *fakeService) {
		svc := &fakeService{}
		host := memHost{cluster.MemFiles{}}
		// The trigger must be on the server when its restart comes.
		svc.before = func() bool { _, ok := host.MemFiles[trigger]; return ok }
		return Member{Node: cluster.Node{Name: name, Role: cluster.Fact[cluster.Role]{Value: cluster.RoleServer}},
			Host: host, Service: svc, Check: check}, svc
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
	if sb.withTrigger != 1 || rep.Nodes[1].Regenerate != trigger || rep.Nodes[0].Regenerate != "" || rep.Nodes[2].Regenerate != "" {
		t.Errorf("regenerate trigger: s2 restarted %d times with it, report %q %q %q; want it written on s2 only, before its restart",
			sb.withTrigger, rep.Nodes[0].Regenerate, rep.Nodes[1].Regenerate, rep.Nodes[2].Regenerate)
	}
	for i, m := range []Member{a, c} {
		if _, ok := m.Host.(memHost).MemFiles[trigger]; ok {
			t.Errorf("node %d got a trigger without a restart", i)
		}
	}
}

// memHost is cluster.MemFiles with a WriteFile that creates new files
// only (no backup to make).
type memHost struct{ cluster.MemFiles }

func (h memHost) WriteFile(_ context.Context, p string, data []byte, _ remote.WriteOptions) (string, error) {
	if _, ok := h.MemFiles[p]; ok {
		return "", errors.New("not expected: " + p + " exists")
	}
	h.MemFiles[p] = string(data)
	return "", nil
}

func (h memHost) PutBack(_ context.Context, p, _ string, _ []byte, _ remote.PutBackOptions) error {
	return errors.New("not expected: a put-back of " + p)
}
