package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// defaultLeafHorizon is the lifetime of the leaf certs k3s issues at start (spec 6.2).
const defaultLeafHorizon = 365 * 24 * time.Hour

// ValidateInput names a current k3s server dir and a staged CA set to check.
type ValidateInput struct {
	// CurrentDir is the k3s server dir holding tls/ and cred/ (DD/server).
	CurrentDir string
	// StagedDir is the staged root holding tls/ (rotate-ca --path).
	StagedDir string
	// Now is the clock for chain verification and checks; zero means time.Now().
	Now time.Time
	// Force is rotate-ca --force: errors are reported but the set is accepted.
	Force bool
	// LeafValidity is the lifetime of leaf certs issued at next start; zero means 365 days.
	LeafValidity time.Duration
	// Product is k3s or rke2; it names the server's own leaf files, which the stray-key check skips.
	Product product.Product
}

// Report is the verdict on a staged CA set.
type Report struct {
	// OK is true when k3s would accept the set: no errors, or Force.
	OK bool `json:"ok"`
	// Accepted is true when k3s would accept the set without --force.
	Accepted bool `json:"accepted"`
	// Errors are k3s's own messages, "<Field>: <msg>", in k3s's order.
	Errors []string `json:"errors,omitempty"`
	// Warnings are k3sca's checks that k3s lacks.
	Warnings []string `json:"warnings,omitempty"`
	// Class is how disruptive the rotation is.
	Class Class `json:"class"`
	// CAClasses is the class of each changed CA, by cert field name.
	CAClasses map[string]Class `json:"caClasses,omitempty"`
	// Defaulted lists the rotatable fields taken from the current files.
	Defaulted []string `json:"defaulted,omitempty"`
	// Fields maps every bootstrap field name to the path k3s would use.
	Fields map[string]string `json:"fields"`
	// Hash is the join-token CA hash of the current and the resolved new
	// server-ca.crt; New is empty when the new bundle holds no certificate.
	Hash struct{ Old, New string } `json:"hash"`
	// Changed lists the rotatable fields whose bytes differ from the current files.
	Changed []string `json:"changed,omitempty"`
}

// Validate checks a staged CA set exactly as k3s's rotate-ca handler does,
// adds k3sca's own warnings and classifies the rotation. It returns an error
// only when validation cannot run: the staged dir is missing or holds a
// symlink, a staged file cannot be stat'ed, or the current server-ca.crt
// cannot be read. k3s's refusals are Report.Errors; see Report.Err.
func Validate(ctx context.Context, in ValidateInput) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in = in.withDefaults()
	if err := checkStagedRoot(in.StagedDir); err != nil {
		return nil, err
	}
	oldHash, err := hashFile(ServerCAPath(in.CurrentDir), in.Now)
	if err != nil {
		return nil, fmt.Errorf("current server CA: %w", err)
	}
	paths, err := k3sDefaultBootstrap(in.CurrentDir, in.StagedDir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := k3sValidateBootstrap(paths, in.Now)
	if err := res.readError(); err != nil {
		return nil, err
	}
	r := newReport(paths, res, in.Force)
	r.Hash.Old = oldHash
	r.Hash.New, _ = hashFile(paths.next["ServerCA"], in.Now)
	v := loadView(in, paths)
	v.serviceKeys = res.serviceKeys
	r.Changed = v.changedFields()
	r.CAClasses = v.classifyChanged(res.caOK)
	r.Class = overallClass(r.CAClasses, slices.Contains(r.Changed, "ServiceKey"))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Warnings = v.warnings()
	return r, nil
}

// ServerCAPath is the server CA bundle under a server dir or staged root.
func ServerCAPath(root string) string {
	f, _ := Field("ServerCA")
	return f.Abs(root)
}

func (in ValidateInput) withDefaults() ValidateInput {
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if in.LeafValidity <= 0 {
		in.LeafValidity = defaultLeafHorizon
	}
	return in
}

// checkStagedRoot refuses a missing staged dir, one that is not a directory
// and one with a symlink anywhere inside.
func checkStagedRoot(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("staged dir: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("staged dir %s: %w", dir, fsutil.ErrSymlink)
	}
	if !fi.IsDir() {
		return fmt.Errorf("staged dir %s is not a directory", dir)
	}
	if err := fsutil.RefuseSymlinks(dir); err != nil {
		return fmt.Errorf("staged dir: %w", err)
	}
	return nil
}

func hashFile(path string, now time.Time) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h, err := HashCA(data, now)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return h.Hex, nil
}

func newReport(paths *resolvedPaths, res k3sResult, force bool) *Report {
	r := &Report{Fields: paths.next, Defaulted: paths.defaulted}
	for _, e := range res.errs {
		r.Errors = append(r.Errors, e.String())
	}
	r.Accepted = len(r.Errors) == 0
	r.OK = r.Accepted || force
	return r
}

// The verdict on a staged set, one text each wherever k3sca shows it (the
// validate command, the wizard's report, a flow's validate step).
const (
	VerdictAccepted = "accepted: k3s takes this set without --force"
	VerdictForced   = "accepted only with --force"
	VerdictRefused  = "refused: k3s would reject this set"
)

// Verdict is the text of r's verdict: VerdictAccepted, VerdictForced or
// VerdictRefused.
func (r *Report) Verdict() string {
	switch {
	case r.Accepted:
		return VerdictAccepted
	case r.OK:
		return VerdictForced
	}
	return VerdictRefused
}

// Err is nil when k3s would accept the set without --force. Otherwise it is
// k3s's combined message; errors.Is matches ErrValidation and, per error,
// ErrSingleCert, ErrChainUnverified, ErrKeyPair or ErrServiceKeyDropped.
func (r *Report) Err() error {
	if r == nil || r.Accepted {
		return nil
	}
	return &ValidationError{Errors: r.Errors}
}

// ValidationError is a k3s refusal of a staged CA set.
type ValidationError struct {
	// Errors are k3s's "<Field>: <msg>" strings in order.
	Errors []string
}

// Error is k3s's message: "failed to validate new CA certificates and keys: "
// followed by the errors joined with ", " as wrangler's merr does.
func (e *ValidationError) Error() string {
	return ErrValidation.Error() + ": " + joinK3sErrors(e.Errors)
}

// Unwrap exposes ErrValidation and the class sentinel of each error.
func (e *ValidationError) Unwrap() []error {
	out := []error{ErrValidation}
	for _, msg := range e.Errors {
		if c := errorClass(msg); c != nil {
			out = append(out, c)
		}
	}
	return out
}

var errorClasses = []error{ErrSingleCert, ErrChainUnverified, ErrKeyPair, ErrServiceKeyDropped}

// errorClass maps one "<Field>: <msg>" string to its sentinel, or nil.
func errorClass(msg string) error {
	_, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return nil
	}
	for _, c := range errorClasses {
		if strings.HasPrefix(rest, c.Error()) {
			return c
		}
	}
	return nil
}

// view holds the resolved files' bytes for the classification and the checks.
type view struct {
	in     ValidateInput
	paths  *resolvedPaths
	data   map[string][]byte              // field name → resolved new bytes; nil if unreadable
	cur    map[string][]byte              // field name → current bytes; nil if unreadable
	parsed map[string][]*x509.Certificate // cache of certs
	// serviceKeys are the resolved service.key's RSA and ECDSA public keys.
	serviceKeys []crypto.PublicKey
}

func loadView(in ValidateInput, paths *resolvedPaths) *view {
	v := &view{in: in, paths: paths, data: map[string][]byte{}, cur: map[string][]byte{}, parsed: map[string][]*x509.Certificate{}}
	for _, f := range RotatableFields() {
		v.cur[f.Name], _ = os.ReadFile(paths.current[f.Name])
		if v.staged(f.Name) {
			v.data[f.Name], _ = os.ReadFile(paths.next[f.Name])
		} else {
			v.data[f.Name] = v.cur[f.Name]
		}
	}
	return v
}

// staged reports whether the field comes from the staged dir.
func (v *view) staged(field string) bool {
	return v.paths.staged[field]
}

func (v *view) changedFields() []string {
	var out []string
	for _, f := range RotatableFields() {
		if v.staged(f.Name) && !bytes.Equal(v.cur[f.Name], v.data[f.Name]) {
			out = append(out, f.Name)
		}
	}
	return out
}

// classifyChanged classifies each CA whose cert bytes changed.
func (v *view) classifyChanged(caOK map[string]bool) map[string]Class {
	out := map[string]Class{}
	for _, f := range RotatableFields() {
		if f.Kind != KindCert || !v.staged(f.Name) || bytes.Equal(v.cur[f.Name], v.data[f.Name]) {
			continue
		}
		oldCerts, _ := ParseCertsPEM(v.cur[f.Name])
		out[f.Name] = classifyCA(oldCerts, v.certs(f.Name), caOK[f.Name])
	}
	return out
}

// certs is the resolved bundle of a cert field, parsed once.
func (v *view) certs(field string) []*x509.Certificate {
	if c, ok := v.parsed[field]; ok {
		return c
	}
	c, _ := ParseCertsPEM(v.data[field])
	v.parsed[field] = c
	return c
}
