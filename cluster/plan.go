package cluster

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/k3sca/k3sca/pki"
)

// FileEdit is the new content of one file: the same bytes as Old with
// only the CA hash of each full token replaced.
type FileEdit struct {
	// Path is the file on the node.
	Path string
	// Old is the content the probe read. Write New only if the file
	// still holds Old (compare and swap), or probe again.
	Old []byte
	// New is the content to write.
	New []byte
	// Places are the tokens the edit changes.
	Places []Place
	// Diff is the change for the screen, every secret masked.
	Diff string
	// Backup, in an undo's plan, is the backup beside Path that New is
	// put back from (its bytes, mode and owner).
	Backup string
}

// String is the masked diff; never the content.
func (e FileEdit) String() string { return e.Diff }

// GoString masks like String.
func (e FileEdit) GoString() string { return "cluster.FileEdit{" + e.Path + "\n" + e.Diff + "}" }

// Plan is what one node needs so its tokens match a new CA hash.
type Plan struct {
	// NewHash is the CA hash the tokens must carry.
	NewHash string
	// Edits are the files to rewrite, in probe order.
	Edits []FileEdit
	// Current are full tokens that already carry NewHash: nothing to do.
	Current []Place
	// Unpinned are short tokens and bare passwords: they pin no CA and
	// need no edit.
	Unpinned []Place
	// Manual are full tokens on another hash that cannot be rewritten
	// byte-exactly (quoted or escaped across the hash, a YAML block
	// scalar): the operator must change them.
	Manual []Place
	// Unusable are values that are not tokens k3sca can read.
	Unusable []Place
	// Problems are the probe's problems.
	Problems []string
}

// NothingToDo reports that the node's tokens already match (or pin no
// CA): running the plan again after applying it ends here.
func (p *Plan) NothingToDo() bool { return len(p.Edits) == 0 && len(p.Manual) == 0 }

// PlanEdits plans the edits that bind every full token of a probed node to
// newHash, changing nothing but the 64 characters of each hash. A node
// that keeps two different secrets for one purpose gets a *ConflictError
// and no plan: k3sca does not guess which one k3s uses.
func PlanEdits(r *ProbeResult, newHash string) (*Plan, error) {
	if err := checkHash(newHash); err != nil {
		return nil, err
	}
	if c := r.Conflicts(); len(c) > 0 {
		return nil, &ConflictError{Conflicts: c}
	}
	plan := &Plan{NewHash: newHash, Problems: append([]string(nil), r.Problems...)}
	byFile := map[string]*FileEdit{}
	var order []string
	offsets := map[string][]int{}
	for _, p := range r.Places {
		switch {
		case p.Err != nil:
			plan.Unusable = append(plan.Unusable, p)
		case !p.PinsCA():
			plan.Unpinned = append(plan.Unpinned, p)
		case p.CAHash == newHash:
			plan.Current = append(plan.Current, p)
		case !p.Editable():
			plan.Manual = append(plan.Manual, p)
		default:
			e, ok := byFile[p.File]
			if !ok {
				old := r.content[p.File]
				e = &FileEdit{Path: p.File, Old: old, New: bytes.Clone(old)}
				byFile[p.File] = e
				order = append(order, p.File)
			}
			e.Places = append(e.Places, p)
			if slices.Contains(offsets[p.File], p.hashOff) {
				continue // the same bytes named twice, such as one token file by two settings
			}
			if err := replaceHash(e.New, p, newHash); err != nil {
				return nil, err
			}
			offsets[p.File] = append(offsets[p.File], p.hashOff)
		}
	}
	for _, f := range order {
		e := byFile[f]
		e.Diff = renderDiff(f, e.Old, e.New, offsets[f], spansOf(r.Places, f, newHash))
		plan.Edits = append(plan.Edits, *e)
	}
	return plan, nil
}

// replaceHash writes the new hash over the old one, after checking the
// bytes are still "K10" and the old hash.
func replaceHash(buf []byte, p Place, newHash string) error {
	pre := len(pki.TokenPrefix)
	off := p.hashOff
	if off < pre || off+len(p.CAHash) > len(buf) ||
		string(buf[off-pre:off]) != pki.TokenPrefix || string(buf[off:off+len(p.CAHash)]) != p.CAHash {
		return fmt.Errorf("plan %s: the token's bytes are not where the probe found them", p.Where())
	}
	copy(buf[off:], newHash)
	return nil
}

// checkHash accepts 64 lowercase hex characters, the hash k3s writes.
func checkHash(h string) error {
	if len(h) != 64 || strings.ToLower(h) != h {
		return fmt.Errorf("%w %q: want 64 lowercase hex characters", ErrBadHash, h)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("%w %q: want 64 lowercase hex characters", ErrBadHash, h)
	}
	return nil
}

// String summarizes the plan, masked: the diffs, then what needs nothing.
func (p *Plan) String() string {
	var b strings.Builder
	if p.NothingToDo() {
		fmt.Fprintf(&b, "nothing to do: no full token pinned to a CA hash other than %s\n", p.NewHash)
	}
	for _, e := range p.Edits {
		b.WriteString(e.Diff)
	}
	for _, pl := range p.Manual {
		fmt.Fprintf(&b, "edit by hand (not rewritable byte-exactly): %s\n", pl)
	}
	for _, pl := range p.Current {
		fmt.Fprintf(&b, "already current: %s\n", pl)
	}
	for _, pl := range p.Unpinned {
		fmt.Fprintf(&b, "no edit needed: %s\n", pl)
	}
	for _, pl := range p.Unusable {
		fmt.Fprintf(&b, "unusable: %s\n", pl)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(&b, "problem: %s\n", pr)
	}
	return b.String()
}

// GoString masks like String.
func (p *Plan) GoString() string { return "&cluster.Plan{\n" + p.String() + "}" }
