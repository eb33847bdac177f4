package k3sver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Op is the kind of operation a flow performs, as the table knows it.
type Op string

// Operations.
const (
	// OpCheck reads certificates (check, datastore show).
	OpCheck Op = "check"
	// OpLeafRotation removes leaf certificates for k3s to re-issue.
	OpLeafRotation Op = "rotate-certs"
	// OpCARotation loads a new self-signed CA set or service-account key
	// into the datastore (rotate-ca, rotate-service-key, load).
	OpCARotation Op = "ca-rotation"
	// OpCustomCA brings CAs signed by another CA (custom-ca,
	// rotate-custom-ca).
	OpCustomCA Op = "custom-ca"
	// OpRestore writes a backup back into the datastore.
	OpRestore Op = "restore"
	// OpRollout rolls a CA change out to the cluster's nodes.
	OpRollout Op = "rollout"
)

// Path is how a flow reaches the datastore.
type Path string

// Datastore paths; the zero value in a row means any.
const (
	PathAny Path = ""
	// PathServer is --via server: k3s's rotate-ca endpoint.
	PathServer Path = "server"
	// PathDirect is k3sca's own write to SQLite or etcd.
	PathDirect Path = "direct"
)

// Action is what k3sca does about a row that applies.
type Action string

// Actions.
const (
	// Refuse stops the flow before its first step.
	Refuse Action = "refuse"
	// Warn is printed before the plan; the flow goes on.
	Warn Action = "warn"
	// Note is a fact shown with the plan.
	Note Action = "note"
)

// Row is one version that matters.
type Row struct {
	// ID names the row in JSON and tests; Source the k3s issue or release
	// note behind it.
	ID, Source string
	// Affects are the versions it applies to.
	Affects Match
	// Ops are the operations it bears on; Path the datastore path (PathAny:
	// every one); CustomDataDir limits it to a data dir other than the
	// product's default.
	Ops           []Op
	Path          Path
	CustomDataDir bool
	// ServersOnly limits it to servers (Operation.Agent false).
	ServersOnly bool
	// Action is what k3sca does; Says the text, with %s for the version.
	Action Action
	Says   string
	// RenewDays, when not 0, is the leaf renewal window of the versions
	// it affects.
	RenewDays int
}

// Match says which versions a row affects.
type Match struct {
	// Before lists the first fixed release of each minor line: a version
	// of a listed line before it is affected, one of a line older than
	// every listed line too, one of a newer line not.
	Before []string
	// Exactly lists affected releases: any revision of their Kubernetes
	// patch (v1.31.1+k3s1 also matches v1.31.1+k3s2 and v1.31.1+rke2r1).
	Exactly []string
}

// matches reports whether release v (see Version.release) is affected.
func (m Match) matches(v Version) bool {
	for _, e := range m.Exactly {
		x := mustParse(e)
		if x.Major == v.Major && x.Minor == v.Minor && x.Patch == v.Patch {
			return true
		}
	}
	if len(m.Before) == 0 {
		return false
	}
	oldest := mustParse(m.Before[0])
	for _, e := range m.Before {
		x := mustParse(e)
		if x.Major == v.Major && x.Minor == v.Minor {
			return compare(v, x) < 0
		}
		if compare(x, oldest) < 0 {
			oldest = x
		}
	}
	return v.Major < oldest.Major || (v.Major == oldest.Major && v.Minor < oldest.Minor)
}

func mustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("k3sver table: %v", err))
	}
	return v
}

// Operation is what a flow is about to do, for Decide.
type Operation struct {
	Op Op
	// Path is PathServer or PathDirect for a flow that writes the
	// datastore, PathAny otherwise.
	Path Path
	// CustomDataDir says the data dir is not the product's default.
	CustomDataDir bool
	// Agent says the node is an agent (a rollout's agents).
	Agent bool
}

// Finding is a row (or a fact about the version itself) that applies.
type Finding struct {
	ID     string `json:"id"`
	Source string `json:"source,omitempty"`
	Action Action `json:"action"`
	Text   string `json:"text"`
}

// ErrRefused is an operation refused for the k3s version of a node,
// before anything was changed.
var ErrRefused = errors.New("refused for this k3s version")

// Refuses reports whether any finding refuses.
func Refuses(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Action == Refuse })
}

// Decide returns what k3sca does about version v for op: the rows that
// apply, after what it says about v itself (a release candidate, a
// development build, rke2, a line newer than the table). v nil is an
// unknown version: one note, and k3sca goes on.
func Decide(v *Version, op Operation) []Finding {
	if v == nil {
		return []Finding{{ID: "unknown", Action: Note,
			Text: "k3s version unknown: the version checks are skipped; see it with `k3s --version` on this node"}}
	}
	var out []Finding
	rel := v.release()
	switch {
	case v.Dev != "":
		out = append(out, Finding{ID: "development-build", Action: Note,
			Text: fmt.Sprintf("%s is a development build after %s: it is matched as that release and may hold fixes named below as later", v, rel)})
	case v.Pre != "":
		out = append(out, Finding{ID: "release-candidate", Action: Note,
			Text: fmt.Sprintf("%s is a release candidate: it is matched as %s", v, rel)})
	}
	if v.Product == "rke2" {
		out = append(out, Finding{ID: "rke2", Action: Note,
			Text: fmt.Sprintf("rke2 %s is matched by its Kubernetes version: the k3s issues of v%d.%d.%d apply", v, v.Major, v.Minor, v.Patch)})
	}
	if newer(*v) {
		out = append(out, Finding{ID: "newer", Action: Note,
			Text: fmt.Sprintf("%s is newer than the newest line k3sca knows (%s): no known issue applies; k3sca goes on", v, NewestLine)})
	}
	for _, r := range Table {
		if !r.applies(rel, op) {
			continue
		}
		out = append(out, Finding{ID: r.ID, Source: r.Source, Action: r.Action, Text: fmt.Sprintf(r.Says, v)})
	}
	return out
}

func (r Row) applies(v Version, op Operation) bool {
	if !slices.Contains(r.Ops, op.Op) || (r.CustomDataDir && !op.CustomDataDir) || (r.ServersOnly && op.Agent) {
		return false
	}
	if r.Path != PathAny && r.Path != op.Path {
		return false
	}
	return r.Affects.matches(v)
}

func newer(v Version) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(NewestLine, "v"), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return v.Major > major || (v.Major == major && v.Minor > minor)
}

// RenewDays is the leaf renewal window of v in days, and the row that says
// so; ok is false when no row does (an unknown version, or one that
// renews within the current default, pki.DefaultRenewWindow).
func RenewDays(v *Version) (days int, source string, ok bool) {
	if v == nil {
		return 0, "", false
	}
	for _, r := range Table {
		if r.RenewDays != 0 && r.Affects.matches(v.release()) {
			return r.RenewDays, r.Source, true
		}
	}
	return 0, "", false
}
