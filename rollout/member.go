package rollout

import (
	"context"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/remote"
)

// Host is what the rollout needs of a node's files: read, list and
// rewrite them, and put a backup back. remote.Node satisfies it.
type Host interface {
	cluster.Files
	// WriteFile replaces path atomically after a backup beside it and
	// returns the backup's path.
	WriteFile(ctx context.Context, path string, data []byte, opts remote.WriteOptions) (string, error)
	// PutBack replaces path atomically with its backup (bytes, mode,
	// owner) if path still holds expect (remote.Node.PutBack).
	PutBack(ctx context.Context, path, backup string, expect []byte, opts remote.PutBackOptions) error
}

// Service is a node's k3s (or k3s-agent) service.
type Service interface {
	// Restart restarts it (starts it when stopped); it does not wait for
	// the node to be ready: Check does.
	Restart(ctx context.Context) error
	// IsActive reports whether it runs.
	IsActive(ctx context.Context) (bool, error)
	// State is what its manager says of it; the rollout reads it before
	// it plans the node (an error: ServiceUnknown, and why).
	State(ctx context.Context) (ServiceState, error)
}

// Want is the CA every node must end with: its join-token hash, and the
// server CA bundle itself (a rotation under the same root keeps the hash,
// so the bundle tells a restarted node from one that still runs the old
// intermediate).
type Want struct {
	Hash string
	CA   []byte
	// ServiceKey, when set, is the service-account key file
	// (server/tls/service.key) every server must hold: k3s writes it
	// from the datastore at start, so a server holding it started after
	// the load.
	ServiceKey []byte
}

// Check reports whether a node shows the CA want: nil when it does. The
// rollout polls it after a restart.
type Check func(ctx context.Context, want Want) error

// Member is one node of the rollout: what it is, its files, its service
// and how to see it took the new CA.
type Member struct {
	// Node is the node's facts (name, role, address) with their sources.
	Node cluster.Node
	// Host reaches its files; Service its k3s.
	Host    Host
	Service Service
	// Version asks it for its k3s version (cluster.NodeVersionProbe for
	// a remote.Node); a zero probe leaves the version unknown.
	Version cluster.VersionProbe
	// Check tells whether it shows the new CA (see ServerCheck, AgentCheck).
	Check Check
	// Verify are the health checks once it shows the new CA, in order
	// (KubeReady, EtcdHealth).
	Verify []Verifier
	// Serving, on a server, asks its supervisor listener for the
	// certificate chain it presents (ListenerChain); a leaf rotation of
	// k3s-server checks it is a new one. Nil: not asked.
	Serving ServingProbe
}

// Options tune a run.
type Options struct {
	// NewHash is the CA hash every token and node must end with; NewCA
	// the server CA bundle they must show (nil: the hash only).
	NewHash string
	NewCA   []byte
	// NewServiceKey is the service.key every server must end with (nil:
	// not checked); see Want.ServiceKey.
	NewServiceKey []byte
	// ServersOnly is a change that restarts servers only (the
	// service-account key; the k3s docs: "It is not necessary to restart
	// agents"): no token edits, no regenerate trigger, every agent
	// reported not needed and left alone.
	ServersOnly bool
	// Now is the clock for backup names; Poll and Timeout bound the wait
	// for a restarted node (defaults 1 s and 5 min).
	Now     func() time.Time
	Poll    time.Duration
	Timeout time.Duration
	// ReachWait is how long a verifier whose service does not answer is
	// retried before it is reported not checked (default 15 s).
	ReachWait time.Duration
	// Parallel is how many agents restart at once (default 1); servers
	// always go one at a time.
	Parallel int
	// DryRun probes and plans every node and changes nothing.
	DryRun bool
	// PutBack is the undo of a rollout, after the datastore was restored
	// to the CA of NewHash: each token file whose tokens pin another hash
	// is put back from the backup the rollout made of it (see
	// putBackPlan; a file changed since is refused), instead of being
	// rewritten; then the nodes restart in the same order and are checked
	// and verified against NewCA as a rollout's.
	PutBack bool
	// Progress, when set, hears each node's state as it changes; calls
	// never overlap, even with Parallel agents.
	Progress func(NodeReport)
	// Leaf, when set, makes the run a leaf-certificate rotation on each
	// node instead of a CA change (see Leaf): NewHash and NewCA are then
	// the cluster's CA, which stays.
	Leaf *Leaf
}
