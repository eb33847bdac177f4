package rollout

import (
	"fmt"
	"strings"
	"time"
)

// State is where a node stands in a rollout.
type State string

// Node states.
const (
	// StateUntouched: not reached (a node before it failed).
	StateUntouched State = "untouched"
	// StatePlanned: a dry run probed and planned it.
	StatePlanned State = "planned"
	// StateDone: its tokens hold the new hash and it shows the new CA;
	// Changed says whether this run edited or restarted it.
	StateDone State = "done"
	// StateFailed: the step in Error failed; the node is as Edits and
	// Restarted say.
	StateFailed State = "failed"
	// StateStopped: its service was stopped before the rollout came
	// (ServiceState inactive or deactivating): its token files were
	// brought in line (and a server got its regenerate trigger) for
	// its next start, but it was not started, so it is not verified;
	// Stopped says what to do.
	StateStopped State = "stopped"
	// StateNotNeeded: the change needs nothing of this node (an agent
	// after a service-account key change); it was left alone, and
	// Needs says why.
	StateNotNeeded State = "not needed"
)

// Edit is one file the rollout rewrote (or would, in a dry run).
type Edit struct {
	// Path is the file on the node; Backup the copy beside it (in an
	// undo, PutBack: the backup it is put back from).
	Path    string `json:"path"`
	Backup  string `json:"backup,omitempty"`
	PutBack bool   `json:"putBack,omitempty"`
	// Diff is the change, every secret masked.
	Diff string `json:"diff"`
}

// NodeReport is one node's outcome.
type NodeReport struct {
	// Name, Role and Address name the node.
	Name    string `json:"name"`
	Role    string `json:"role"`
	Address string `json:"address"`
	// Version is its k3s version and what k3sca does about it.
	Version *NodeVersion `json:"version,omitempty"`
	// State is where it stands; Step the step it is at or failed in.
	State State  `json:"state"`
	Step  string `json:"step,omitempty"`
	// Needs, for a node the change needs nothing of, says why.
	Needs string `json:"needs,omitempty"`
	// Service is how its service is restarted and checked, when the
	// service says (a UnitService: systemd or OpenRC).
	Service *ServiceCommands `json:"service,omitempty"`
	// ServiceState is its service's state as the rollout found it,
	// before the plan ("" when not read: a node not reached).
	ServiceState ServiceState `json:"serviceState,omitempty"`
	// Stopped, for a node left stopped, says so and what to do.
	Stopped string `json:"stopped,omitempty"`
	// Edits are the token files rewritten (planned, in a dry run).
	Edits []Edit `json:"edits,omitempty"`
	// Manual are token places k3sca cannot rewrite: the operator must.
	Manual []string `json:"manual,omitempty"`
	// Regenerate is the listener's regenerate trigger a server gets
	// before its restart (planned, in a dry run): its serving certificate
	// is then issued again from the new server CA.
	Regenerate string `json:"regenerate,omitempty"`
	// Restarted says this run restarted it; Changed that it edited or
	// restarted it.
	Restarted bool `json:"restarted"`
	Changed   bool `json:"changed"`
	// Shows is what the last check said ("" when it shows the new CA).
	Shows string `json:"shows,omitempty"`
	// Verified are the health checks after it showed the new CA (in a
	// dry run: what they say now).
	Verified []Verification `json:"verified,omitempty"`
	// Leaf is its leaf rotation, in a leaf rollout (Options.Leaf).
	Leaf *NodeLeaf `json:"leaf,omitempty"`
	// Error is the failure.
	Error string `json:"error,omitempty"`
}

// Report is a whole rollout.
type Report struct {
	// NewHash is the CA hash the cluster moves to; DryRun that nothing
	// was changed.
	NewHash string `json:"newHash"`
	DryRun  bool   `json:"dryRun"`
	// Nodes are in rollout order.
	Nodes []NodeReport `json:"nodes"`
	// ServersOnly says the change restarts servers only: a
	// service-account key (agents need nothing).
	ServersOnly bool `json:"serversOnly,omitempty"`
	// LeafSince is set in a leaf rollout: the rotation's start (a node
	// with a leaf backup made since is rotated), LeafSinceSource where
	// that time came from (Leaf.SinceSource); LeafServices are the
	// services asked for (none: k3s's default on each node).
	LeafSince       *time.Time `json:"leafSince,omitempty"`
	LeafSinceSource string     `json:"leafSinceSource,omitempty"`
	LeafServices    []string   `json:"leafServices,omitempty"`
	// PutBack says this is the undo of a rollout: token files were put
	// back from their backups (Options.PutBack).
	PutBack bool `json:"putBack,omitempty"`
	// OK says the rollout did all it does: every node done (planned, in a
	// dry run), not needed, or left stopped as it was found.
	OK bool `json:"ok"`
}

// Summary is one line: "5 nodes: 3 done, 1 failed, 1 untouched".
func (r *Report) Summary() string {
	count := map[State]int{}
	for _, n := range r.Nodes {
		count[n.State]++
	}
	var parts []string
	for _, s := range []State{StateDone, StatePlanned, StateStopped, StateNotNeeded, StateFailed, StateUntouched} {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	return fmt.Sprintf("%d nodes: %s", len(r.Nodes), strings.Join(parts, ", "))
}
