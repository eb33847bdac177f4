package steps

import (
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/rollout"
)

// Env is what every flow needs to know about the node it runs on; main
// fills it from flags and settings, the wizard passes it through.
type Env struct {
	// DataDir is the k3s data dir.
	DataDir string
	// Product names files, CNs and units.
	Product product.Product
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Window is the leaf renewal window (0: 120 days).
	Window time.Duration
	// StageRoot is the parent of new staged dirs ("": the data dir's parent).
	StageRoot string
	// ScratchRoot is the parent of a dry run's private scratch dirs ("":
	// memory-backed /dev/shm when there is one, else the system temp dir).
	ScratchRoot string
	// Services controls the k3s unit: systemd or OpenRC on a node, a fake
	// in tests and in a sandbox.
	Services node.ServiceManager
	// Local finds clusters whose nodes are directories on this machine (a
	// sandbox cluster); nil: none.
	Local LocalClusters
	// Access says how to reach the datastore; its DataDir, Product and
	// Services are taken from the fields above.
	Access AccessInput
	// Token is the server token; "" reads <data-dir>/server/token.
	Token string
	// ServerURL is the supervisor URL for Access.Via == ViaServer.
	ServerURL string
	// ClusterName is what the operator types to confirm a disruptive
	// change (a new root of trust); "" uses the host name.
	ClusterName string
	// DryRun builds flows whose writing steps are only previewed and whose
	// datastore handles are read-only.
	DryRun bool
	// RestartTimeout bounds the wait for k3s to serve the expected CA after
	// a start (0: DefaultRestartTimeout).
	RestartTimeout time.Duration
	// Holder names the command running the flows ("k3sca run", "k3sca
	// wizard") in the data dir's lock, for an operator it refuses.
	Holder string
	// Log receives one record per step of every flow (--log); nil logs
	// nothing. Secrets never reach it.
	Log *slog.Logger
	// Inventory is the cluster's inventory (k3s-ansible format): a CA
	// flow then ends by rolling the change out to every node. "" for a
	// sandbox cluster's node: its own inventory (WithDefaults).
	Inventory string
	// Kubeconfig is an admin kubeconfig on this machine (a server's
	// /etc/rancher/<product>/k3s.yaml): without an inventory, the
	// cluster's nodes and roles come from its Kubernetes API.
	Kubeconfig string
	// Nodes are --node values: without an inventory or a kubeconfig, they
	// are the cluster's nodes (cluster.NodeFlagUsage).
	Nodes []string
	// Parallel is how many agents the rollout restarts at once (0: 1);
	// servers always go one at a time.
	Parallel int
	// RotatedSince is when a leaf rotation of the cluster began
	// (--rotated-since, to resume one): a node with a leaf backup made
	// since is rotated already (rollout.Leaf). Zero: the flow's start.
	RotatedSince time.Time
	// AcceptHostKeys maps a node's name to the SHA256 fingerprint of the
	// host key the operator checked and accepts for it when known_hosts
	// does not know it (--accept-host-key); a changed key is never
	// accepted.
	AcceptHostKeys map[string]string
	// K3s is the k3s version found on the node (DetectK3sVersion); nil:
	// each flow looks for it before its first step.
	K3s *node.K3sVersion
	// Versions is how the version is looked for (nil: the real commands
	// and endpoint).
	Versions *node.VersionProbe
	// Hook, when set, is called at each named point of a load's or a
	// restore's write (tests pause or kill the process there).
	Hook func(point string)
}

// ClusterKnown says the cluster's nodes are given (an inventory, a
// kubeconfig or --node flags): a CA flow then ends with the rollout.
func (e Env) ClusterKnown() bool {
	return e.Inventory != "" || e.Kubeconfig != "" || len(e.Nodes) > 0
}

// clusterSource names where the nodes come from, for a title.
func (e Env) clusterSource() string {
	switch {
	case e.Inventory != "":
		return e.Inventory
	case e.Kubeconfig != "":
		return "the Kubernetes API (kubeconfig " + e.Kubeconfig + ")"
	}
	return "the --node flags"
}

// clusterFlags names where the nodes come from, as the flags that say so.
func (e Env) clusterFlags() string {
	switch {
	case e.Inventory != "":
		return "--inventory " + e.Inventory
	case e.Kubeconfig != "":
		return "--kubeconfig " + e.Kubeconfig
	}
	var b strings.Builder
	for i, n := range e.Nodes {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("--node " + n)
	}
	return b.String()
}

// WithDefaults fills the clock, the window and the stage root.
func (e Env) WithDefaults() Env {
	if e.Inventory == "" && e.DataDir != "" && e.Local != nil {
		if inv, err := e.Local.InventoryOf(e.DataDir); err == nil && inv != "" {
			e.Inventory = inv
		}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.RestartTimeout == 0 {
		e.RestartTimeout = DefaultRestartTimeout
	}
	if e.Window == 0 {
		e.Window = pki.DefaultRenewWindow
	}
	if e.StageRoot == "" && e.DataDir != "" {
		e.StageRoot = filepath.Dir(filepath.Clean(e.DataDir))
	}
	return e
}

// access is e.Access completed with the node's facts.
func (e Env) access() AccessInput {
	a := e.Access
	a.DataDir, a.Product, a.Services = e.DataDir, e.Product, e.Services
	return a
}

// LocalClusters finds clusters whose nodes are directories on this machine,
// with simulated services (a sandbox cluster): the rollout reaches their
// nodes locally instead of over SSH.
type LocalClusters interface {
	// InventoryOf is the inventory of the local cluster that the data dir
	// dataDir is a node of, or "" when it is none's.
	InventoryOf(dataDir string) (string, error)
	// Members are the rollout's members of the local cluster whose
	// inventory is inventory, in rollout order, and what releases them; ok
	// is false when that inventory is not a local cluster's.
	Members(inventory string, p product.Product, now func() time.Time) (members []rollout.Member, release func(), ok bool, err error)
}
