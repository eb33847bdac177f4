package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/product"
)

// NodeVersion is a node's k3s version (or why it is unknown) and what
// the version table says about it for the rollout.
type NodeVersion struct {
	*cluster.ProductVersion
	// Findings are the table's rows that apply to this node: a refusal
	// stops the rollout before any node is touched; warnings and notes
	// are shown with its plan.
	Findings []k3sver.Finding `json:"findings,omitempty"`
}

// VersionRefusedError is a rollout refused before any node was touched
// because of the k3s version of one or more nodes.
type VersionRefusedError struct {
	// Nodes are the refused nodes, each with its refusing findings.
	Nodes []RefusedNode
}

// RefusedNode is one node a rollout is refused for.
type RefusedNode struct {
	Name, Role, Version string
	Reasons             []k3sver.Finding
}

// Error implements error.
func (e *VersionRefusedError) Error() string {
	var parts []string
	for _, n := range e.Nodes {
		var why []string
		for _, f := range n.Reasons {
			why = append(why, f.Text+" ["+f.Source+"]")
		}
		parts = append(parts, fmt.Sprintf("node %s (%s, k3s %s): %s", n.Name, n.Role, n.Version, strings.Join(why, "; ")))
	}
	return "the rollout is refused before any node is touched: " + strings.Join(parts, "; ") + ". Nothing was changed on any node"
}

// Unwrap returns k3sver.ErrRefused.
func (e *VersionRefusedError) Unwrap() error { return k3sver.ErrRefused }

// memberUnit is the unit the member's role runs.
func memberUnit(p product.Product, m Member) string {
	if m.Node.Role.Value == cluster.RoleAgent {
		return p.AgentUnit()
	}
	return p.ServerUnit()
}

// readVersions asks every member for its k3s version (`<program>
// --version` through its own transport: cluster.ProgramVersion) and
// decides what the table says about each for the rollout, into rep. Any
// refusal is the error: it comes before any node is probed for its
// tokens, edited or restarted.
func readVersions(ctx context.Context, p product.Product, members []Member, opts Options, rep *Report) error {
	refused := &VersionRefusedError{}
	for i, m := range members {
		if ok, _ := opts.touches(m); !ok {
			continue // a node the rollout leaves alone is not asked
		}
		v, tried := cluster.ProgramVersion(ctx, m.Version, p, memberUnit(p, m))
		if v == nil {
			v = cluster.UnknownVersion(p, tried)
		}
		op := k3sver.Operation{Op: k3sver.OpRollout, Agent: m.Node.Role.Value == cluster.RoleAgent}
		if opts.Leaf != nil {
			op.Op = k3sver.OpLeafRotation
		}
		nv := &NodeVersion{ProductVersion: v, Findings: k3sver.Decide(v.Parsed(), op)}
		rep.Nodes[i].Version = nv
		if !k3sver.Refuses(nv.Findings) {
			continue
		}
		rn := RefusedNode{Name: m.Node.Name, Role: string(m.Node.Role.Value), Version: v.Version}
		for _, f := range nv.Findings {
			if f.Action == k3sver.Refuse {
				rn.Reasons = append(rn.Reasons, f)
			}
		}
		rep.Nodes[i].Error = "refused: " + rn.Reasons[0].Text
		refused.Nodes = append(refused.Nodes, rn)
	}
	if len(refused.Nodes) > 0 {
		return refused
	}
	return nil
}

// NodeVersionReport is one member's version, as ReadVersions reports it.
type NodeVersionReport struct {
	Name string `json:"name"`
	Role string `json:"role"`
	*NodeVersion
}

// ReadVersions asks every member the rollout of opts touches for its k3s
// version and what the table says about it for the rollout, as Run does
// first, and changes nothing: a flow that ends with the rollout asks
// before its first step. A member it leaves alone (an agent in a
// servers-only rollout, a node not named) is not asked: its
// NodeVersion is nil. The error is a *VersionRefusedError when a node's
// version refuses it.
func ReadVersions(ctx context.Context, p product.Product, members []Member, opts Options) ([]NodeVersionReport, error) {
	rep := &Report{Nodes: make([]NodeReport, len(members))}
	err := readVersions(ctx, p, members, opts, rep)
	out := make([]NodeVersionReport, len(members))
	for i, m := range members {
		out[i] = NodeVersionReport{Name: m.Node.Name, Role: string(m.Node.Role.Value), NodeVersion: rep.Nodes[i].Version}
	}
	return out, err
}
