package cluster

import (
	"fmt"
	"strings"
)

// Conflict is one node keeping different secrets for the same purpose in
// different places: k3sca does not guess which one k3s uses.
type Conflict struct {
	// Purpose is the purpose the places share.
	Purpose Purpose
	// Groups are the places, one group per distinct secret.
	Groups [][]Place
}

// String names the places of each secret, masked.
func (c Conflict) String() string {
	var parts []string
	for i, g := range c.Groups {
		var where []string
		for _, p := range g {
			where = append(where, fmt.Sprintf("%s (%s)", p.Where(), p.Key))
		}
		parts = append(parts, fmt.Sprintf("secret %c at %s", 'A'+i, strings.Join(where, ", ")))
	}
	return fmt.Sprintf("%d different %s passwords: %s", len(c.Groups), c.Purpose, strings.Join(parts, "; "))
}

// Conflicts are the purposes for which the node keeps more than one
// secret (password or bootstrap token; the CA hash and user do not count).
func (r *ProbeResult) Conflicts() []Conflict {
	var out []Conflict
	for _, purpose := range []Purpose{PurposeJoin, PurposeAgent} {
		var secrets []string
		groups := map[string][]Place{}
		for _, p := range r.Places {
			s, ok := p.secret()
			if !ok || p.Purpose != purpose {
				continue
			}
			if _, seen := groups[s]; !seen {
				secrets = append(secrets, s)
			}
			groups[s] = append(groups[s], p)
		}
		if len(secrets) < 2 {
			continue
		}
		c := Conflict{Purpose: purpose}
		for _, s := range secrets {
			c.Groups = append(c.Groups, groups[s])
		}
		out = append(out, c)
	}
	return out
}

// ConflictError is PlanEdits refusing a node with conflicting tokens.
type ConflictError struct {
	// Conflicts are what conflicts.
	Conflicts []Conflict
}

// Error lists the conflicts, masked.
func (e *ConflictError) Error() string {
	var parts []string
	for _, c := range e.Conflicts {
		parts = append(parts, c.String())
	}
	return fmt.Sprintf("%v: %s; make them one token by hand, then plan again", ErrConflictingTokens, strings.Join(parts, " | "))
}

// Unwrap makes errors.Is(err, ErrConflictingTokens) true.
func (e *ConflictError) Unwrap() error { return ErrConflictingTokens }

// GoString masks like String.
func (c Conflict) GoString() string { return "cluster.Conflict{" + c.String() + "}" }

// GoString masks like Error.
func (e *ConflictError) GoString() string { return "&cluster.ConflictError{" + e.Error() + "}" }
