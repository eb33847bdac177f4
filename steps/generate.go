package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/internal/words"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// GenerateKind selects what Generate stages.
type GenerateKind string

// Kinds of staged sets.
const (
	GenCustomCA   GenerateKind = "custom-ca"
	GenRotation   GenerateKind = "rotation"
	GenServiceKey GenerateKind = "service-key"
)

// GenerateKinds lists the kinds the generate command accepts.
var GenerateKinds = []GenerateKind{GenCustomCA, GenRotation, GenServiceKey}

// GenerateInput configures a Generate step.
type GenerateInput struct {
	// Kind is what to generate.
	Kind GenerateKind
	// DataDir is the k3s data dir whose current files are read (never written).
	DataDir string
	// Out is the staging dir; files go to Out/tls/...
	Out string
	// Overwrite allows a non-empty Out.
	Overwrite bool
	// Initial writes the set of a cluster that has not started yet into its
	// own server dir: Out must be that server dir and its tls dir must hold
	// no CA file. Only GenCustomCA may be initial.
	Initial bool
	// Opts carries product, clock, randomness and key types.
	Opts pki.GenOptions
	// Root and intermediate files to import for GenCustomCA (any may be empty).
	RootCert, RootKey, IntermediateCert, IntermediateKey string
}

// StagingDirError is a refused staging dir (the live tls dir, a symlink, a
// non-empty dir); its message is the cause's.
type StagingDirError struct{ Err error }

// Error implements error.
func (e *StagingDirError) Error() string { return e.Err.Error() }

// Unwrap gives errors.Is access to the fsutil sentinels.
func (e *StagingDirError) Unwrap() error { return e.Err }

// Generate stages a new CA set, rotation or service key in a fresh directory.
type Generate struct {
	in  GenerateInput
	set *pki.StagedSet
}

// NewGenerate returns the step for in.
func NewGenerate(in GenerateInput) *Generate { return &Generate{in: in} }

// Title is the title of its plan.
func (g *Generate) Title() string { return fmt.Sprintf("Generate %s into %s", g.in.Kind, g.in.Out) }

// Set is the generated set after Preview or Run.
func (g *Generate) Set() *pki.StagedSet { return g.set }

// Preview generates the set in memory and describes the files it would write.
func (g *Generate) Preview(ctx context.Context) (*Plan, error) {
	if err := g.build(ctx); err != nil {
		return nil, err
	}
	plan := &Plan{Title: g.Title(), Notes: g.set.NotesFor(g.in.Initial)}
	for _, f := range g.set.Preview() {
		detail := fmt.Sprintf("%04o, %d bytes", f.Mode, f.Size)
		for _, c := range f.Certs {
			detail += fmt.Sprintf("; %s <- %s until %s", c.Subject, c.Issuer, c.NotAfter.UTC().Format("2006-01-02"))
		}
		plan.Add(ActWrite, filepath.Join(g.in.Out, filepath.FromSlash(f.Path)), "%s", detail)
	}
	return plan, nil
}

// Run writes the set; nothing is written when validation of the inputs fails.
func (g *Generate) Run(ctx context.Context) (string, error) {
	if err := g.build(ctx); err != nil {
		return "", err
	}
	if err := g.set.Write(ctx, g.in.Out, g.in.Opts.Now); err != nil {
		return "", fmt.Errorf("write staged set: %w", err)
	}
	return fmt.Sprintf("wrote %s to %s", words.Plural(len(g.set.Files), "file"), g.in.Out), nil
}

func (g *Generate) build(ctx context.Context) error {
	if g.set != nil {
		return nil
	}
	server := product.ServerDir(g.in.DataDir)
	live := filepath.Join(server, pki.TLSDir)
	if g.in.Initial {
		if err := checkInitialTarget(g.in, server); err != nil {
			return &StagingDirError{Err: err}
		}
	} else if err := fsutil.CheckStagingDir(g.in.Out, live, g.in.Overwrite); err != nil {
		return &StagingDirError{Err: err}
	}
	var (
		set *pki.StagedSet
		err error
	)
	switch g.in.Kind {
	case GenCustomCA:
		var in pki.CustomCAInput
		if in, err = g.customInput(server); err == nil {
			set, err = pki.GenerateCustomCA(ctx, g.in.Opts, in)
		}
	case GenRotation:
		set, err = pki.GenerateRotation(ctx, g.in.Opts, server)
	case GenServiceKey:
		var cur []byte
		if cur, err = readCurrent(server, "ServiceKey"); err == nil {
			set, err = pki.GenerateServiceKeyRotation(ctx, g.in.Opts, cur)
		}
	default:
		err = fmt.Errorf("unknown kind %q", g.in.Kind)
	}
	if err != nil {
		return fmt.Errorf("generate %s: %w%s", g.in.Kind, err, g.inputFiles())
	}
	g.set = set
	return nil
}

// inputFiles names the imported files, so an error about "root key" says
// which file that was.
func (g *Generate) inputFiles() string {
	var parts []string
	for _, f := range []struct{ label, path string }{
		{"root certificate", g.in.RootCert}, {"root key", g.in.RootKey},
		{"intermediate certificate", g.in.IntermediateCert}, {"intermediate key", g.in.IntermediateKey},
	} {
		if f.path != "" {
			parts = append(parts, f.label+" "+f.path)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (g *Generate) customInput(server string) (pki.CustomCAInput, error) {
	var in pki.CustomCAInput
	for _, f := range []struct {
		input pki.ImportInput
		path  string
		dst   *[]byte
	}{
		{pki.InputRootCert, g.in.RootCert, &in.RootCert}, {pki.InputRootKey, g.in.RootKey, &in.RootKey},
		{pki.InputIntermediateCert, g.in.IntermediateCert, &in.IntermediateCert},
		{pki.InputIntermediateKey, g.in.IntermediateKey, &in.IntermediateKey},
	} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return in, &pki.ImportError{Input: f.input, Err: fmt.Errorf("read %s %s: %w", f.input, f.path, err)}
		}
		*f.dst = b
	}
	cur, err := readCurrent(server, "ServiceKey")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return in, err
	}
	in.CurrentServiceKey = cur
	return in, nil
}

// readCurrent reads a bootstrap field's current file from the server dir.
func readCurrent(server, field string) ([]byte, error) {
	f, ok := pki.Field(field)
	if !ok {
		return nil, fmt.Errorf("unknown bootstrap field %s", field)
	}
	b, err := os.ReadFile(f.Abs(server))
	if err != nil {
		return nil, fmt.Errorf("read current %s: %w", field, err)
	}
	return b, nil
}

// ErrInitialized means a custom CA was asked for the first start of a
// cluster that has already started.
var ErrInitialized = errors.New("the cluster was already initialised")

// checkInitialTarget allows writing into the live server dir only for the
// custom CA of a cluster that has not started: no CA file in its tls dir.
func checkInitialTarget(in GenerateInput, server string) error {
	if in.Kind != GenCustomCA {
		return fmt.Errorf("only a custom CA can be written before the first start, not %s", in.Kind)
	}
	if filepath.Clean(in.Out) != filepath.Clean(server) {
		return fmt.Errorf("the set of a new cluster goes to its server dir %s, not %s", server, in.Out)
	}
	if found := InitialCAFiles(server); len(found) > 0 {
		return fmt.Errorf("%w: %s exists; rotate the CA of a running cluster with a staged dir instead", ErrInitialized, found[0])
	}
	if _, err := os.Lstat(in.Out); err == nil {
		if err := fsutil.RefuseSymlinks(in.Out); err != nil {
			return err
		}
	}
	return nil
}

// InitialCAFiles lists the CA certificates and keys present in server's
// tls dir: any of them means k3s has started (or a set was written) there.
func InitialCAFiles(server string) []string {
	var found []string
	for _, f := range pki.BootstrapFields {
		if !f.Rotate {
			continue
		}
		if _, err := os.Lstat(f.Abs(server)); err == nil {
			found = append(found, f.Abs(server))
		}
	}
	return found
}
