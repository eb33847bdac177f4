package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/product"
)

// ProductVersion is the k3s (or rke2) version found on a node, and how.
type ProductVersion struct {
	// Version is the tag ("v1.36.3+k3s1"); "" when it is unknown.
	Version string `json:"version,omitempty"`
	// Source says how it was found: the command run, or the endpoint.
	Source string `json:"source,omitempty"`
	// Unknown says why it is not known: what was tried, and how to find
	// out.
	Unknown string `json:"unknown,omitempty"`

	parsed *k3sver.Version
}

// FoundVersion is version v, found by source.
func FoundVersion(v k3sver.Version, source string) *ProductVersion {
	return &ProductVersion{Version: v.String(), Source: source, parsed: &v}
}

// UnknownVersion is a version not found: tried says what was tried, and
// the text ends with the command that shows it on the node.
func UnknownVersion(p product.Product, tried []string) *ProductVersion {
	return &ProductVersion{Unknown: strings.Join(append(tried, fmt.Sprintf("see it with `%s --version` on the node", p.Name())), "; ")}
}

// Parsed is the version, nil when unknown.
func (k *ProductVersion) Parsed() *k3sver.Version {
	if k == nil {
		return nil
	}
	return k.parsed
}

// Line is the version in one line for the operator.
func (k *ProductVersion) Line(p product.Product) string {
	if k == nil || k.parsed == nil {
		why := "not looked for"
		if k != nil {
			why = k.Unknown
		}
		return p.Name() + " version unknown: " + why
	}
	return fmt.Sprintf("%s %s (from %s)", p.Name(), k.Version, k.Source)
}

// VersionProbe is how a node's program is asked for its version: through
// the node's own transport (its files, its commands), so that this
// machine and a node over SSH are asked alike.
type VersionProbe struct {
	// Files reads the node's unit files.
	Files Files
	// Run runs argv on the node and returns its stdout.
	Run func(ctx context.Context, argv []string) ([]byte, error)
	// LookPath finds a program on the node's PATH; nil when the PATH
	// that Run sees is not the node's (a sandbox node): PATH is skipped.
	LookPath func(ctx context.Context, name string) (string, error)
	// Program, when set, says which program the unit runs instead of
	// its unit files (a sandbox's simulated binary, a service manager
	// that knows its program).
	Program func(ctx context.Context, unit string) (program, source string, err error)
}

// Commander is a node that runs commands and reads files: remote.Node
// satisfies it.
type Commander interface {
	Files
	Run(ctx context.Context, argv []string) (stdout, stderr []byte, err error)
}

// NodeVersionProbe asks the node n: its unit files, its commands, and
// its PATH through `sh -c 'command -v <name>'` (the node's shell and
// PATH, with sudo's when the login is not root).
func NodeVersionProbe(n Commander) VersionProbe {
	run := func(ctx context.Context, argv []string) ([]byte, error) {
		out, _, err := n.Run(ctx, argv)
		return out, err
	}
	return VersionProbe{Files: n, Run: run,
		LookPath: func(ctx context.Context, name string) (string, error) {
			out, err := run(ctx, []string{"sh", "-c", `command -v "$1"`, "sh", name})
			path := strings.TrimSpace(string(out))
			if err != nil || !strings.HasPrefix(path, "/") {
				return "", fmt.Errorf("%s is not on PATH", name)
			}
			return path, nil
		}}
}

// VersionTimeout bounds each way of asking for the version.
const VersionTimeout = 3 * time.Second

// ProgramVersion runs `<program> --version` on the node of pr, with the
// program the unit runs (pr.Program, else its ExecStart or OpenRC
// command=: UnitProgram), then the product's program on the node's PATH.
// When neither answers, the version is nil and tried says what was tried,
// one entry a way.
func ProgramVersion(ctx context.Context, pr VersionProbe, p product.Product, unit string) (v *ProductVersion, tried []string) {
	var program, source string
	var err error
	switch {
	case pr.Program != nil:
		program, source, err = pr.Program(ctx, unit)
	case pr.Files != nil:
		program, source, err = UnitProgram(ctx, pr.Files, p, unit)
	default:
		err = fmt.Errorf("%w: %s (its files are not read)", ErrNoUnitProgram, unit)
	}
	if err == nil {
		if v, err := runVersion(ctx, pr, program, source); err == nil {
			return v, nil
		} else {
			tried = append(tried, err.Error())
		}
	} else {
		tried = append(tried, fmt.Sprintf("unit %s: %v", unit, err))
	}
	if pr.LookPath != nil {
		name := p.Name()
		if path, err := pr.LookPath(ctx, name); err != nil {
			tried = append(tried, name+" is not on PATH")
		} else if path != program {
			if v, err := runVersion(ctx, pr, path, "PATH"); err == nil {
				return v, nil
			} else {
				tried = append(tried, err.Error())
			}
		}
	}
	return nil, tried
}

func runVersion(ctx context.Context, pr VersionProbe, program, source string) (*ProductVersion, error) {
	if pr.Run == nil {
		return nil, fmt.Errorf("%s --version: no way to run commands on the node", program)
	}
	ctx, cancel := context.WithTimeout(ctx, VersionTimeout)
	defer cancel()
	out, err := pr.Run(ctx, []string{program, "--version"})
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", program, err)
	}
	v, err := k3sver.Parse(string(out))
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", program, err)
	}
	return FoundVersion(v, fmt.Sprintf("%s --version, %s", program, source)), nil
}
