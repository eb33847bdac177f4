package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"syscall"

	"github.com/k3sca/k3sca/product"
)

// ProbeResult is what a probe found on one node: every place it keeps a
// token, what its units say about its role, and its datastore kind. It
// keeps the content of the files it read, for PlanEdits.
type ProbeResult struct {
	// Product is the product probed for.
	Product product.Product
	// Places are the places holding a token, in the order read: units and
	// their drop-ins, OpenRC scripts, environment files, config files,
	// token files.
	Places []Place
	// Roles is the evidence of the node's role: unit names and the
	// subcommand of their command lines.
	Roles []Fact[Role]
	// Datastore is the server datastore kind the files show.
	Datastore Fact[Datastore]
	// DataDir is the data dir the files name, or the default.
	DataDir Fact[string]
	// Read is every file that existed and was read.
	Read []string
	// Problems are things the probe could not read or decide; none
	// holds a secret.
	Problems []string

	content map[string][]byte
}

// Probe finds every place a node keeps its token for product p, reading
// only through f: the config file and its drop-ins (token, agent-token,
// token-file, agent-token-file, and the one-letter t), environment files
// (<P>_TOKEN, <P>_AGENT_TOKEN, <P>_TOKEN_FILE, <P>_AGENT_TOKEN_FILE, with
// P = K3S or RKE2), systemd units and drop-ins (ExecStart flags
// --token/-t/--token-file/--agent-token/--agent-token-file, Environment=,
// and the EnvironmentFile= files they name), OpenRC scripts
// (command_args), and the token files all of these name. A missing file is
// skipped; any other read error fails the probe, since a file it cannot
// read may hold a token.
//
// Every candidate is read, also those k3s would not read on this node (a
// unit in /usr/lib/systemd/system shadowed by one in /etc/systemd/system,
// the default config file when --config names another): a full token there
// is stale after a rotation either way, and editing its hash is harmless.
func Probe(ctx context.Context, f Files, p product.Product) (*ProbeResult, error) {
	pr := &prober{ctx: ctx, f: f, lay: layoutFor(p), res: &ProbeResult{Product: p, content: map[string][]byte{}}}
	steps := []func() error{pr.units, pr.openRC, pr.envFiles, pr.configs, pr.tokenFiles, pr.datastore}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	pr.checkRoles()
	sortPlaces(pr.res.Places, pr.res.Read)
	return pr.res, nil
}

type prober struct {
	ctx context.Context
	f   Files
	lay layout
	res *ProbeResult

	envCandidates []envCandidate
	configPaths   []string
	refs          []tokenFileRef
	endpoints     []evidence
	clusterInit   []evidence
	dataDirs      []evidence
}

// envCandidate is an environment file to read and its quoting rules.
type envCandidate struct {
	path string
	q    quoting
}

// read returns a file's content; ok is false for a missing file.
func (pr *prober) read(p string) ([]byte, bool, error) {
	if b, ok := pr.res.content[p]; ok {
		return b, true, nil
	}
	b, err := pr.f.ReadFile(pr.ctx, p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("probe: %w", err)
	}
	pr.res.content[p] = b
	pr.res.Read = append(pr.res.Read, p)
	return b, true, nil
}

func (pr *prober) glob(pattern string) ([]string, error) {
	m, err := pr.f.Glob(pr.ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	return m, nil
}

func (pr *prober) problem(format string, args ...any) {
	pr.res.Problems = append(pr.res.Problems, fmt.Sprintf(format, args...))
}

func (pr *prober) addEnv(p string, q quoting) {
	for _, c := range pr.envCandidates {
		if c.path == p {
			return
		}
	}
	pr.envCandidates = append(pr.envCandidates, envCandidate{path: p, q: q})
}

// envFiles reads every environment file found so far.
func (pr *prober) envFiles() error {
	for _, c := range pr.envCandidates {
		content, ok, err := pr.read(c.path)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		for _, a := range parseAssignments(content, c.q) {
			pr.assignment(c.path, content, KindEnvFile, a)
		}
	}
	return nil
}

// checkRoles notes evidence of both roles on one node.
func (pr *prober) checkRoles() {
	if _, ok := pr.res.ObservedRole(); ok || len(pr.res.Roles) == 0 {
		return
	}
	var parts []string
	for _, r := range pr.res.Roles {
		parts = append(parts, fmt.Sprintf("%s (%s)", r.Value, r.Source))
	}
	pr.problem("the node shows both roles: %s", strings.Join(parts, "; "))
}

// ObservedRole is the role every piece of evidence agrees on; false when
// there is none or it disagrees.
func (r *ProbeResult) ObservedRole() (Fact[Role], bool) {
	if len(r.Roles) == 0 {
		return Fact[Role]{}, false
	}
	var sources []string
	for _, e := range r.Roles {
		if e.Value != r.Roles[0].Value {
			return Fact[Role]{}, false
		}
		if !slices.Contains(sources, e.Source) {
			sources = append(sources, e.Source)
		}
	}
	return Fact[Role]{Value: r.Roles[0].Value, Source: strings.Join(sources, "; ")}, true
}

// String lists the places (masked), the role and datastore evidence and
// the problems.
func (r *ProbeResult) String() string {
	var b strings.Builder
	if role, ok := r.ObservedRole(); ok {
		fmt.Fprintf(&b, "role: %s (%s)\n", role.Value, role.Source)
	} else {
		b.WriteString("role: not shown by the files\n")
	}
	fmt.Fprintf(&b, "datastore: %s (%s)\n", r.Datastore.Value, r.Datastore.Source)
	if len(r.Places) == 0 {
		b.WriteString("no token found in any file\n")
	}
	for _, p := range r.Places {
		fmt.Fprintf(&b, "token: %s\n", p)
	}
	for _, c := range r.Conflicts() {
		fmt.Fprintf(&b, "conflict: %s\n", c)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	return b.String()
}

// GoString masks like String.
func (r *ProbeResult) GoString() string { return "&cluster.ProbeResult{\n" + r.String() + "}" }
