package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/product"
)

// restartLog records restarts across nodes: when each began and ended,
// and how many ran at once.
type restartLog struct {
	mu       sync.Mutex
	inFlight map[cluster.Role]int
	max      map[cluster.Role]int
	events   []string
}

// slowService is a node's service whose restart takes a while; the node
// shows the new CA once it restarted.
type slowService struct {
	log       *restartLog
	name      string
	role      cluster.Role
	fail      bool
	mu        sync.Mutex
	restarted bool
}

func (s *slowService) Restart(context.Context) error {
	l := s.log
	l.mu.Lock()
	l.inFlight[s.role]++
	if n := l.inFlight[cluster.RoleServer] + l.inFlight[cluster.RoleAgent]; n > l.max[s.role] {
		l.max[s.role] = n
	}
	l.events = append(l.events, "start "+s.name)
	l.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	l.mu.Lock()
	l.inFlight[s.role]--
	l.events = append(l.events, "end "+s.name)
	l.mu.Unlock()
	if s.fail {
		return errors.New("the unit failed to start")
	}
	s.mu.Lock()
	s.restarted = true
	s.mu.Unlock()
	return nil
}

func (s *slowService) IsActive(context.Context) (bool, error) { return true, nil }

func (s *slowService) State(context.Context) (ServiceState, error) { return ServiceActive, nil }

func (s *slowService) check(context.Context, Want) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.restarted {
		return errors.New("serves the old CA")
	}
	return nil
}

// slowCluster is 3 servers and agents agents needing a restart each.
func slowCluster(agents int, failing string) ([]Member, *restartLog, map[string]*slowService) {
	log := &restartLog{inFlight: map[cluster.Role]int{}, max: map[cluster.Role]int{}}
	svcs := map[string]*slowService{}
	var ms []Member
	add := func(name string, role cluster.Role) {
		svc := &slowService{log: log, name: name, role: role, fail: name == failing}
		svcs[name] = svc
		ms = append(ms, Member{Node: cluster.Node{Name: name, Role: cluster.Fact[cluster.Role]{Value: role}},
			Host: memHost{cluster.MemFiles{}}, Service: svc, Check: svc.check})
	}
	for i := 1; i <= 3; i++ {
		add(fmt.Sprintf("s%d", i), cluster.RoleServer)
	}
	for i := 1; i <= agents; i++ {
		add(fmt.Sprintf("a%d", i), cluster.RoleAgent)
	}
	return ms, log, svcs
}

// TestRunParallelAgents: servers restart one at a time, every one before
// any agent; then at most --parallel agents restart at once (and that
// many do, when there are enough).
func TestRunParallelAgents(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for _, parallel := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("parallel %d", parallel), func(t *testing.T) {
			ms, log, _ := slowCluster(5, "")
			rep, err := Run(context.Background(), product.K3s, ms, Options{NewHash: hash, Poll: time.Millisecond, Timeout: 5 * time.Second, Parallel: parallel})
			if err != nil || !rep.OK {
				t.Fatalf("run: %v", err)
			}
			if log.max[cluster.RoleServer] != 1 {
				t.Errorf("%d nodes restarted at once with a server among them, want servers alone", log.max[cluster.RoleServer])
			}
			if log.max[cluster.RoleAgent] != parallel {
				t.Errorf("at most %d agents restarted at once, want %d", log.max[cluster.RoleAgent], parallel)
			}
			want := "start s1,end s1,start s2,end s2,start s3,end s3"
			if got := strings.Join(log.events[:6], ","); got != want {
				t.Errorf("servers: %s, want %s", got, want)
			}
			for _, e := range log.events[6:] {
				if !strings.Contains(e, " a") {
					t.Errorf("after the servers: %v", log.events[6:])
				}
			}
		})
	}
}

// TestRunParallelStopsAtAFailedAgent: an agent that fails stops the
// rollout: agents under way finish, none is started after it.
func TestRunParallelStopsAtAFailedAgent(t *testing.T) {
	ms, _, svcs := slowCluster(6, "a2")
	rep, err := Run(context.Background(), product.K3s, ms, Options{NewHash: strings.Repeat("ab", 32), Poll: time.Millisecond, Timeout: time.Second, Parallel: 2})
	if err == nil || !strings.Contains(err.Error(), "node a2") {
		t.Fatalf("err %v", err)
	}
	states := map[string]State{}
	for _, nr := range rep.Nodes {
		states[nr.Name] = nr.State
	}
	// a1 and a2 start together; a3 may have taken a1's slot before a2
	// failed; a4 onwards wait for a slot a2's failure never gives.
	if states["a1"] != StateDone || states["a2"] != StateFailed {
		t.Errorf("states %v", states)
	}
	for _, n := range []string{"a4", "a5", "a6"} {
		if states[n] != StateUntouched || svcs[n].restarted {
			t.Errorf("%s started after a2 failed: %v", n, states)
		}
	}
}
