package pki

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The error strings of k3s's rotate-ca handler (pkg/server/handlers/cert.go),
// kept as sentinels so a UI can tell the classes apart with errors.Is.
var (
	// ErrValidation wraps every refusal: k3s's outer message.
	ErrValidation = errors.New("failed to validate new CA certificates and keys")
	// ErrDefaultBootstrap is k3s's message when a staged file cannot be stat'ed.
	ErrDefaultBootstrap = errors.New("failed to set default bootstrap values")
	// ErrSingleCert: a staged CA bundle holds one cert, so it cannot chain to the old CA.
	ErrSingleCert = errors.New("new CA bundle contains only a single certificate but should include root or intermediate CA certificates")
	// ErrChainUnverified: the staged CA does not verify against the current roots and intermediates.
	ErrChainUnverified = errors.New("new CA cert cannot be verified using old CA chain")
	// ErrKeyPair: the CA cert and key do not load as a pair. "X590" is k3s's typo, kept verbatim.
	ErrKeyPair = errors.New("new CA cert and key cannot be loaded as X590KeyPair")
	// ErrServiceKeyDropped: the current signing key is missing from the new service.key.
	ErrServiceKeyDropped = errors.New("old ServiceAccount signing key not in new ServiceAccount key list")
)

// fieldError is one k3s validation error: the field it is prefixed with and the cause.
type fieldError struct {
	Field string
	Err   error
}

// String is the pkg/errors WithMessage form k3s logs: "<Field>: <err>".
func (e fieldError) String() string { return e.Field + ": " + e.Err.Error() }

// joinK3sErrors mimics wrangler's merr.NewErrors: nil for none, the error
// itself for one, otherwise the messages joined with ", ".
func joinK3sErrors(msgs []string) string {
	return strings.Join(msgs, ", ")
}

// resolvedPaths is the outcome of k3s's defaultBootstrap: for every bootstrap
// field, the current path and the path k3s would actually use as "new".
// staged marks the fields taken from the staged dir. k3s skips a check when
// the old and new paths are equal, which happens exactly when a field was
// defaulted, since its new files live in its own tmp dir; staged carries that
// fact even if the staged dir is the current dir.
type resolvedPaths struct {
	current   map[string]string
	next      map[string]string
	staged    map[string]bool
	defaulted []string
}

// k3sDefaultBootstrap replicates defaultBootstrap: a rotatable field whose
// staged file exists with a non-zero size uses the staged file; every other
// field uses the current file. A stat error other than not-exist is an error.
// The secrets-encryption fields have no staged path in k3s (their tmp path is
// ""), so they always come from the current dir.
func k3sDefaultBootstrap(currentDir, stagedDir string) (*resolvedPaths, error) {
	r := &resolvedPaths{current: map[string]string{}, next: map[string]string{}, staged: map[string]bool{}}
	var msgs []string
	for _, f := range BootstrapFields {
		cur := f.Abs(currentDir)
		r.current[f.Name] = cur
		var info fs.FileInfo
		if !f.SecretsEncryption {
			var err error
			info, err = os.Stat(f.Abs(stagedDir))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				msgs = append(msgs, f.Name+": "+err.Error())
				continue
			}
		}
		if !f.Rotate || info == nil || info.Size() == 0 {
			r.next[f.Name] = cur
			if f.Rotate {
				r.defaulted = append(r.defaulted, f.Name)
			}
			continue
		}
		r.next[f.Name] = f.Abs(stagedDir)
		r.staged[f.Name] = true
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrDefaultBootstrap, joinK3sErrors(msgs))
	}
	return r, nil
}

// k3sResult is what validateBootstrap found: the errors in k3s's order and,
// for each CA whose validateCA ran, whether it passed.
type k3sResult struct {
	errs []fieldError
	caOK map[string]bool
	// serviceKeys are the public keys of the resolved service.key as k3s
	// parsed them (RSA and ECDSA only); nil when it could not.
	serviceKeys []crypto.PublicKey
}

// readError is the first error that is a failed read of a file (an I/O
// error, a permission, a directory in place of a file) rather than a
// verdict on its content: the set cannot be judged. A missing file stays
// a refusal, as in k3s.
func (r k3sResult) readError() error {
	for _, e := range r.errs {
		var pe *fs.PathError
		if errors.As(e.Err, &pe) && !errors.Is(e.Err, fs.ErrNotExist) {
			return fmt.Errorf("%s: read %s: %w", e.Field, pe.Path, pe.Err)
		}
	}
	return nil
}

// k3sValidateBootstrap replicates validateBootstrap: rotatable fields in
// struct order; validateCA and validateCAKey for the five CAs and
// validateServiceKey for ServiceKey. now replaces k3s's wall clock. The
// fields are independent (each reads its own files), so they are checked
// concurrently, at most GOMAXPROCS at a time; the result is merged in
// struct order, as k3s reports it.
func k3sValidateBootstrap(r *resolvedPaths, now time.Time) k3sResult {
	type fieldResult struct {
		caOK, hasCA bool
		errs        []fieldError
		serviceKeys []crypto.PublicKey
		isService   bool
	}
	results := make([]fieldResult, len(BootstrapFields))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, f := range BootstrapFields {
		if !f.Rotate {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out := &results[i]
			oldPath, newPath := r.current[f.Name], r.next[f.Name]
			if strings.HasSuffix(f.Name, "CA") {
				err := k3sValidateCA(oldPath, newPath, r.staged[f.Name], now)
				out.hasCA, out.caOK = r.staged[f.Name], err == nil
				if err != nil {
					out.errs = append(out.errs, fieldError{f.Name, err})
				}
				keyField := f.Name + "Key"
				err = k3sValidateCAKey(newPath, r.next[keyField], r.staged[f.Name] || r.staged[keyField])
				if err != nil {
					out.errs = append(out.errs, fieldError{keyField, err})
				}
			}
			if f.Name == "ServiceKey" {
				keys, err := k3sValidateServiceKey(oldPath, newPath)
				if err != nil {
					out.errs = append(out.errs, fieldError{f.Name, err})
				}
				out.serviceKeys, out.isService = keys, true
			}
		}()
	}
	wg.Wait()
	res := k3sResult{caOK: map[string]bool{}}
	for i, f := range BootstrapFields {
		out := results[i]
		if out.hasCA {
			res.caOK[f.Name] = out.caOK
		}
		res.errs = append(res.errs, out.errs...)
		if out.isService {
			res.serviceKeys = out.serviceKeys
		}
	}
	return res
}

// k3sValidateCA replicates validateCA: the first cert of the new bundle must
// verify against the old bundle's roots and intermediates plus the new
// bundle's certs[1:] that carry an AKI, at time now. Skipped unless staged.
func k3sValidateCA(oldPath, newPath string, staged bool, now time.Time) error {
	if !staged {
		return nil
	}
	oldCerts, err := CertsFromFile(oldPath)
	if err != nil {
		return err
	}
	newCerts, err := CertsFromFile(newPath)
	if err != nil {
		return err
	}
	if len(newCerts) == 1 {
		return ErrSingleCert
	}
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range oldCerts {
		if len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
			roots.AddCert(c)
		} else {
			intermediates.AddCert(c)
		}
	}
	for _, c := range newCerts[1:] {
		if len(c.AuthorityKeyId) > 0 {
			intermediates.AddCert(c)
		}
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now}
	if _, err := newCerts[0].Verify(opts); err != nil {
		return fmt.Errorf("%w: %w", ErrChainUnverified, err)
	}
	return nil
}

// k3sValidateCAKey replicates validateCAKey with Go's own tls.LoadX509KeyPair,
// so the wrapped error text is the standard library's. Skipped unless the
// cert or the key is staged; then it pairs a staged file with a defaulted one.
func k3sValidateCAKey(newCA, newKey string, staged bool) error {
	if !staged {
		return nil
	}
	if _, err := tls.LoadX509KeyPair(newCA, newKey); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyPair, err)
	}
	return nil
}

// k3sValidateServiceKey replicates validateServiceKey: the first current
// public key must be reflect.DeepEqual to one of the new public keys. It
// also returns the new public keys, once parsed.
func k3sValidateServiceKey(oldPath, newPath string) ([]crypto.PublicKey, error) {
	oldKeys, err := PublicKeysFromFile(oldPath)
	if err != nil {
		return nil, err
	}
	newKeys, err := PublicKeysFromFile(newPath)
	if err != nil {
		return nil, err
	}
	for _, k := range newKeys {
		if reflect.DeepEqual(oldKeys[0], k) {
			return newKeys, nil
		}
	}
	return newKeys, ErrServiceKeyDropped
}
