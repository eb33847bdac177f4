package steps

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// importInputs maps the custom-CA fields to the import they feed.
var importInputs = map[string]pki.ImportInput{
	"root-cert": pki.InputRootCert, "root-key": pki.InputRootKey,
	"intermediate-cert": pki.InputIntermediateCert, "intermediate-key": pki.InputIntermediateKey,
}

// keyOf pairs a certificate field with its key field.
var keyOf = map[string]string{"root-cert": "root-key", "intermediate-cert": "intermediate-key"}

// CheckField checks one value of spec as soon as the operator leaves its
// field, with the errors the flow itself would return later: a file that
// does not exist or cannot be read, a certificate or key that does not
// parse (a *pki.ImportError wrapping pki.ErrNoCertificates,
// pki.ErrEncryptedKey, ...), a key that does not match its certificate
// (pki.ErrKeyDoesNotMatchCert), a staged dir that is the live one
// (ErrStagedIsLive) or holds no tls/ (ErrNoStagedTLS), a file that is not
// a k3sca backup. It only reads. An empty value is nil: CheckValues says
// whether it is required.
func CheckField(env Env, spec FlowSpec, key string, values map[string]string) error {
	v := strings.TrimSpace(values[key])
	var fd *Field
	for i := range spec.Fields {
		if spec.Fields[i].Key == key {
			fd = &spec.Fields[i]
		}
	}
	if fd == nil || v == "" {
		return nil
	}
	env = env.WithDefaults()
	switch {
	case fd.Kind == FieldDir && spec.ID == FlowLoad:
		return CheckStaged(env.DataDir, v)
	case fd.Kind == FieldDir:
		return checkNewStageDir(env.DataDir, v)
	case fd.Kind == FieldBackup:
		return checkBackup(env.DataDir, v)
	case fd.Kind != FieldPath:
		return nil
	}
	if err := checkReadable(fd.Label, v); err != nil {
		if in, ok := importInputs[key]; ok {
			return &pki.ImportError{Input: in, Err: err}
		}
		return err
	}
	if in, ok := importInputs[key]; ok {
		return checkImport(in, key, values)
	}
	return nil
}

// checkBackup refuses what a killed run left (with what it is and how to
// remove it) and what is not a k3sca backup.
func checkBackup(dataDir, path string) error {
	left, err := IncompleteBackups(dataDir)
	if err != nil {
		return err
	}
	for _, p := range left {
		if sameFile(p, path) {
			return errors.New(IncompleteNote(p))
		}
	}
	_, err = ReadBackup(path)
	return err
}

// sameFile reports whether a and b name the same file (by path, clean).
func sameFile(a, b string) bool {
	if fa, err := os.Stat(a); err == nil {
		if fb, err := os.Stat(b); err == nil {
			return os.SameFile(fa, fb)
		}
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

// checkReadable refuses a path that is missing, a dir, or unreadable.
func checkReadable(label, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", label, path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%s %s is a directory, not a file", label, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", label, path, err)
	}
	return f.Close()
}

// checkNewStageDir refuses a staging dir inside (or holding) the live
// server dir, and one that exists and is not empty.
func checkNewStageDir(dataDir, dir string) error {
	server := product.ServerDir(dataDir)
	if fsutil.IsWithin(dir, server) || fsutil.IsWithin(server, dir) {
		return fmt.Errorf("--path %s: %w", dir, ErrStagedIsLive)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("staging dir %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("staging dir %s is not empty: give a new or empty dir", dir)
	}
	return nil
}

// checkImport parses an imported certificate or key and, when both of a
// pair are given and readable, checks that the key is the certificate's.
func checkImport(in pki.ImportInput, key string, values map[string]string) error {
	path := strings.TrimSpace(values[key])
	b, err := os.ReadFile(path)
	if err != nil {
		return &pki.ImportError{Input: in, Err: fmt.Errorf("read %s %s: %w", in, path, err)}
	}
	certKey, keyKey := key, keyOf[key]
	if keyKey == "" { // a key field: find its certificate field
		for c, k := range keyOf {
			if k == key {
				certKey, keyKey = c, k
			}
		}
		if _, err := parseImportKey(b); err != nil {
			return &pki.ImportError{Input: in, Err: fmt.Errorf("%s %s: %w", in, path, err)}
		}
	} else {
		certs, err := pki.ParseBundle(b)
		if err != nil {
			return &pki.ImportError{Input: in, Err: fmt.Errorf("%s %s: %w", in, path, err)}
		}
		if c := certs[0]; !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return &pki.ImportError{Input: in, Err: fmt.Errorf("%s %s %q: %w", in, path, c.Subject.CommonName, pki.ErrImportNotCA)}
		}
	}
	return checkPair(certKey, keyKey, values)
}

// parseImportKey parses the first private key of a PEM file.
func parseImportKey(b []byte) (crypto.Signer, error) {
	keys, err := pki.ParsePrivateKeys(b)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// checkPair reports a key that is not its certificate's, once both parse.
func checkPair(certKey, keyKey string, values map[string]string) error {
	cp, kp := strings.TrimSpace(values[certKey]), strings.TrimSpace(values[keyKey])
	if cp == "" || kp == "" {
		return nil
	}
	cb, err1 := os.ReadFile(cp)
	kb, err2 := os.ReadFile(kp)
	if err1 != nil || err2 != nil {
		return nil
	}
	certs, err1 := pki.ParseBundle(cb)
	k, err2 := parseImportKey(kb)
	if err1 != nil || err2 != nil {
		return nil
	}
	if !pki.PublicKeyEqual(k.Public(), certs[0].PublicKey) {
		return &pki.ImportError{Input: importInputs[keyKey],
			Err: fmt.Errorf("%s %s for %q: %w", importInputs[keyKey], kp, certs[0].Subject.CommonName, pki.ErrKeyDoesNotMatchCert)}
	}
	return nil
}
