package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/rollout"
)

// Preflight is what a flow checks before its first step: the k3s version
// of the node, and what k3sver's table says about it for this flow.
type Preflight struct {
	// K3s is the version found (or why it is unknown).
	K3s *node.K3sVersion `json:"k3s"`
	// Findings are the table's rows that apply, refusals first in
	// importance: any refusal stops the flow before its first step.
	Findings []k3sver.Finding `json:"findings,omitempty"`
	// Nodes are the cluster's nodes' versions, read before the first
	// step of a flow that ends with the rollout: a node on a version the
	// rollout refuses stops the flow before anything is written.
	Nodes []rollout.NodeVersionReport `json:"nodes,omitempty"`

	nodesRefused error
}

// Refused reports whether a finding refuses the flow.
func (p *Preflight) Refused() bool {
	return p != nil && (k3sver.Refuses(p.Findings) || p.nodesRefused != nil)
}

// ErrVersionRefused is a flow refused before its first step for the k3s
// version of the node; nothing was run.
// (k3sver.ErrRefused: a rollout refused for another node's version is
// one too).
var ErrVersionRefused = k3sver.ErrRefused

// VersionRefusedError names the version and the rows that refuse it.
type VersionRefusedError struct {
	// Flow is the flow's ID; Line the version as the operator reads it.
	Flow, Line string
	// Reasons are the refusing findings.
	Reasons []k3sver.Finding
}

// Error implements error.
func (e *VersionRefusedError) Error() string {
	var why []string
	for _, f := range e.Reasons {
		why = append(why, f.Text+" ["+f.Source+"]")
	}
	return fmt.Sprintf("%s is refused before its first step on %s: %s. Nothing was run", e.Flow, e.Line, strings.Join(why, "; "))
}

// Unwrap returns ErrVersionRefused.
func (e *VersionRefusedError) Unwrap() error { return ErrVersionRefused }

// refusal is the error of a refused preflight, nil when it is not.
func (p *Preflight) refusal(flow string, line string) error {
	if !p.Refused() {
		return nil
	}
	if !k3sver.Refuses(p.Findings) {
		return fmt.Errorf("%s is refused before its first step: %w", flow, p.nodesRefused)
	}
	e := &VersionRefusedError{Flow: flow, Line: line}
	for _, f := range p.Findings {
		if f.Action == k3sver.Refuse {
			e.Reasons = append(e.Reasons, f)
		}
	}
	return e
}

// flowOps is the operation of each flow, as the version table knows it.
var flowOps = map[string]k3sver.Op{
	FlowCheck:            k3sver.OpCheck,
	FlowRotateCerts:      k3sver.OpLeafRotation,
	FlowCustomCA:         k3sver.OpCustomCA,
	FlowRotateCustomCA:   k3sver.OpCustomCA,
	FlowRotateCA:         k3sver.OpCARotation,
	FlowRotateServiceKey: k3sver.OpCARotation,
	FlowLoad:             k3sver.OpCARotation,
	FlowDatastore:        k3sver.OpRestore,
	FlowRollout:          k3sver.OpRollout,
}

// operation is what flow id of r does, for k3sver.Decide.
func (r *run) operation(id string) k3sver.Operation {
	op := k3sver.Operation{Op: flowOps[id],
		CustomDataDir: filepath.Clean(r.env.DataDir) != filepath.Clean(r.env.Product.DefaultDataDir())}
	switch op.Op {
	case k3sver.OpCARotation, k3sver.OpCustomCA, k3sver.OpRestore:
		op.Path = k3sver.PathDirect
		if r.env.Access.Via == ViaServer {
			op.Path = k3sver.PathServer
		}
	}
	return op
}

// preflight finds the node's k3s version (unless the environment holds
// it) and what the table says about it for flow id; with nodes, the
// versions of the cluster's nodes too (a flow whose rollout comes after
// other steps).
func (r *run) preflight(id string, nodes bool) func(ctx context.Context) *Preflight {
	return func(ctx context.Context) *Preflight {
		k := r.env.K3s
		if k == nil {
			k = DetectK3sVersion(ctx, r.env)
		}
		pf := &Preflight{K3s: k, Findings: k3sver.Decide(k.Parsed(), r.operation(id))}
		if nodes {
			r.nodeVersions(ctx, pf)
		}
		return pf
	}
}

// nodeVersions reads the versions of the cluster's nodes into pf, as the
// rollout does before it touches a node. Nodes that cannot be reached
// now are the rollout step's to report: a note says so.
func (r *run) nodeVersions(ctx context.Context, pf *Preflight) {
	members, closeAll, err := r.members(ctx)
	if err != nil {
		pf.Findings = append(pf.Findings, k3sver.Finding{ID: "nodes-not-read", Action: k3sver.Note,
			Text: "the other nodes' k3s versions were not read before step 1 (" + err.Error() + "); the rollout step reads them before it touches any node"})
		return
	}
	defer closeAll()
	pf.Nodes, pf.nodesRefused = rollout.ReadVersions(ctx, r.env.Product, members, r.scope)
}

// nodeWarnings are the warnings of pf's nodes, one line each.
func (p *Preflight) nodeWarnings() []string {
	var out []string
	for _, n := range p.Nodes {
		if n.NodeVersion == nil {
			continue
		}
		for _, f := range n.Findings {
			if f.Action == k3sver.Warn {
				out = append(out, fmt.Sprintf("%s (%s): %s [%s]", n.Name, n.Role, f.Text, f.Source))
			}
		}
	}
	return out
}
