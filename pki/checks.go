package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Thresholds of the checks k3s lacks.
const (
	minRSABits       = 2048
	minECBits        = 256
	expiryHorizon    = 365 * 24 * time.Hour
	maxKeyFileMode   = 0o600
	strayKeyMaxBytes = 1 << 20
)

// warnings runs every check that k3s lacks, in bootstrap field order, then
// the stray-key scan of the staged tls/ dir.
func (v *view) warnings() []string {
	var w []string
	if len(v.paths.defaulted) == len(RotatableFields()) {
		w = append(w, fmt.Sprintf("Nothing is staged: no non-empty rotatable file under %s; k3s would store the current data unchanged.", filepath.Join(v.in.StagedDir, TLSDir)))
	}
	for _, f := range RotatableFields() {
		if !v.staged(f.Name) {
			continue
		}
		path := v.paths.next[f.Name]
		switch f.Kind {
		case KindCert:
			w = append(w, v.bundleWarnings(f.Name, path)...)
		case KindKey:
			w = append(w, v.keyFileWarnings(f.Name, path)...)
		}
	}
	w = append(w, v.serviceKeyWarnings()...)
	return append(w, v.strayKeyWarnings()...)
}

// bundleWarnings checks every cert of a staged CA bundle.
func (v *view) bundleWarnings(field, path string) []string {
	certs := v.certs(field)
	var w []string
	if len(certs) == 1 && bytes.Equal(v.cur[field], v.data[field]) {
		w = append(w, fmt.Sprintf("%s: %s is a copy of the current single-certificate CA; k3s still validates it and refuses a single-certificate bundle, so remove it from the staged dir to keep the current CA.", field, path))
	}
	for i, c := range certs {
		label := fmt.Sprintf("%s: certificate %d of %d (%s) in %s", field, i+1, len(certs), certName(c), path)
		w = append(w, v.certWarnings(label, c)...)
	}
	return w
}

// certWarnings checks one CA certificate: CA flags, validity and key strength.
func (v *view) certWarnings(label string, c *x509.Certificate) []string {
	var w []string
	now := v.in.Now
	if (c.Version == 3 && !c.BasicConstraintsValid) || (c.BasicConstraintsValid && !c.IsCA) {
		w = append(w, label+" is not a CA certificate (basicConstraints CA:TRUE is missing); certificates it signs will not verify.")
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		w = append(w, label+" has a keyUsage without keyCertSign; certificates it signs will not verify.")
	}
	if s := expiryWarning(c, now, v.in.LeafValidity); s != "" {
		w = append(w, label+s)
	}
	if c.NotBefore.After(now) {
		w = append(w, fmt.Sprintf("%s is not valid until %s, %s from now; check the clocks of this machine and of the servers.", label, stamp(c.NotBefore), c.NotBefore.Sub(now).Round(time.Second)))
	}
	if s := weakKey(c.PublicKey); s != "" {
		w = append(w, label+" has a weak key: "+s+".")
	}
	return w
}

// expiryWarning is the tail of a warning for an expired cert, one expiring
// before a leaf issued now would, or one expiring within a year; "" if none.
func expiryWarning(c *x509.Certificate, now time.Time, leaf time.Duration) string {
	switch {
	case now.After(c.NotAfter):
		return fmt.Sprintf(" expired on %s.", stamp(c.NotAfter))
	case c.NotAfter.Before(now.Add(leaf)):
		return fmt.Sprintf(" expires on %s, before a leaf certificate issued now would (%s); renew the CA first.", stamp(c.NotAfter), stamp(now.Add(leaf)))
	case c.NotAfter.Before(now.Add(expiryHorizon)):
		return fmt.Sprintf(" expires within a year, on %s.", stamp(c.NotAfter))
	}
	return ""
}

// weakKey describes an RSA key under 2048 bits or an EC curve under P-256; "" if strong enough.
func weakKey(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits {
			return fmt.Sprintf("RSA %d bits, below %d", n, minRSABits)
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < minECBits {
			return fmt.Sprintf("EC curve %s, smaller than P-256", k.Curve.Params().Name)
		}
	}
	return ""
}

// keyFileWarnings checks a staged key file: its mode, extra keys in a CA key
// file and weak service-account keys.
func (v *view) keyFileWarnings(field, path string) []string {
	var w []string
	if s := modeWarning(path); s != "" {
		w = append(w, field+": "+s)
	}
	if field == "ServiceKey" {
		for i, k := range v.serviceKeys {
			if s := weakKey(k); s != "" {
				w = append(w, fmt.Sprintf("%s: RSA/ECDSA key %d of %d in %s is weak: %s.", field, i+1, len(v.serviceKeys), path, s))
			}
		}
		return w
	}
	if n := len(privateKeyBlocks(v.data[field])); n > 1 {
		w = append(w, fmt.Sprintf("%s: %s holds %d private keys; k3s signs with the first, but the others (rotate-default-ca-certs.sh appends the new root key here) are stored in the datastore and copied to every server.", field, path, n))
	}
	return w
}

// serviceKeyWarnings checks the resolved service.key: k3s cannot start when
// its first key, the signing key, is Ed25519. Only a PKCS#8 block can hold one.
func (v *view) serviceKeyWarnings() []string {
	blocks := privateKeyBlocks(v.data["ServiceKey"])
	if len(blocks) == 0 || blocks[0].Type != BlockPKCS8Key {
		return nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(blocks[0].Bytes); err == nil {
		if _, ok := k.(ed25519.PrivateKey); ok {
			return []string{fmt.Sprintf("ServiceKey: the first key of %s is Ed25519; k3s cannot start with an Ed25519 service-account signing key, put an RSA or ECDSA key first.", v.paths.next["ServiceKey"])}
		}
	}
	return nil
}

// privateKeyBlocks returns the PEM blocks of data whose type is a private key.
func privateKeyBlocks(data []byte) []*pem.Block {
	var out []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			out = append(out, b)
		}
	}
}

// modeWarning is a warning for a key file readable or writable by group or others; "" if none.
func modeWarning(path string) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&^maxKeyFileMode == 0 {
		return ""
	}
	return fmt.Sprintf("%s has mode %04o; private keys should be %04o.", path, fi.Mode().Perm(), maxKeyFileMode)
}

// strayKeyWarnings scans the staged tls/ dir for private keys that are not
// k3s files, such as root-ca.key, intermediate-ca.key or *-root.key.
func (v *view) strayKeyWarnings() []string {
	known := knownServerFiles(v.in)
	var w []string
	root := filepath.Join(v.in.StagedDir, TLSDir)
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(v.in.StagedDir, p)
		if err != nil || known[filepath.ToSlash(rel)] || !holdsPrivateKey(p, d.Name()) {
			return nil
		}
		w = append(w, fmt.Sprintf("%s holds a private key that is not a k3s bootstrap file; if it is a root or intermediate CA key, move it offline.", p))
		if s := modeWarning(p); s != "" {
			w = append(w, s)
		}
		return nil
	})
	return w
}

// knownServerFiles is the set of server-dir paths k3s itself owns: bootstrap
// files, derived files and the leaf files of the server services.
func knownServerFiles(in ValidateInput) map[string]bool {
	known := map[string]bool{}
	for _, f := range BootstrapFields {
		known[f.Path] = true
	}
	for _, p := range DerivedFiles() {
		known[p] = true
	}
	for _, s := range Services(in.Product) {
		for _, f := range s.Files {
			if !f.Agent {
				known[f.Path] = true
			}
		}
	}
	return known
}

// holdsPrivateKey reports whether a file contains a private key PEM block,
// or is a non-empty file named *.key.
func holdsPrivateKey(path, name string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return false
	}
	if strings.HasSuffix(name, ".key") {
		return true
	}
	if fi.Size() > strayKeyMaxBytes {
		return false
	}
	data, err := os.ReadFile(path)
	return err == nil && len(privateKeyBlocks(data)) > 0
}

// certName is a short name for a cert in a warning: its CN, else the whole subject.
func certName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	return c.Subject.String()
}

// stamp formats a time for warnings.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
