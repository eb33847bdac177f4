package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Errors of GenerateRotation about the current server dir.
var (
	// ErrCurrentCAMissing: a current CA cert or key file is missing.
	ErrCurrentCAMissing = errors.New("current CA file does not exist; cannot continue")
	// ErrCurrentServiceKeyMissing: the current service.key is missing.
	ErrCurrentServiceKeyMissing = errors.New("current service key does not exist; cannot continue")
)

// currentCA is a CA bundle and key file as found in the server dir.
type currentCA struct {
	certs []*x509.Certificate
	keys  []crypto.Signer
}

// GenerateRotation stages what rotate-default-ca-certs.sh makes (spec 9.2):
// for each of the five CAs a new root (self-signed and cross-signed by the
// old root) and a new CA signed by it, bundle = CA, root-ssigned,
// root-xsigned, old root; key file = CA key only, the new root key goes to
// ca/<type>-root.key outside tls/ (the script appends it to the key file,
// which would store it in the datastore). service.key gets a new first key.
// The result passes rotate-ca validation without --force. The current
// files are read and checked first; then the eleven new keys are generated
// concurrently and the certificates are signed in CATypes order. A
// cancelled ctx returns its error and no set.
func GenerateRotation(ctx context.Context, opts GenOptions, currentServerDir string) (*StagedSet, error) {
	g, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	olds := make([]caPair, len(CATypes))
	pickNotes := make([]string, len(CATypes))
	var reqs []keyReq
	for i, ca := range CATypes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cur, err := readCurrentCA(currentServerDir, ca)
		if err != nil {
			return nil, err
		}
		if olds[i], pickNotes[i], err = pickOldRoot(ca, cur); err != nil {
			return nil, err
		}
		reqs = append(reqs, keyReq{label: ca.Type + " root", typ: g.rootKey}, keyReq{label: ca.Type + " CA", typ: g.caKey})
	}
	svc, err := os.ReadFile(filepath.Join(currentServerDir, filepath.FromSlash(ServiceKeyPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", ServiceKeyPath, ErrCurrentServiceKeyMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read current service key: %w", err)
	}
	if _, err := ParsePrivateKeys(svc); err != nil {
		return nil, fmt.Errorf("current service key: %w", err)
	}
	keys, err := genKeys(ctx, append(reqs, g.serviceKeyReq()))
	if err != nil {
		return nil, err
	}
	set := &StagedSet{Kind: "rotation"}
	for i, ca := range CATypes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if pickNotes[i] != "" {
			set.Notes = append(set.Notes, pickNotes[i])
		}
		if err := g.rotateCA(set, ca, olds[i], keys[2*i], keys[2*i+1]); err != nil {
			return nil, err
		}
	}
	if err := g.stageServiceKey(set, keys[2*len(CATypes)], svc); err != nil {
		return nil, err
	}
	set.noteServerCAHash(g.now)
	set.Notes = append(set.Notes, "ca/*-root.key hold the new root keys: k3s never needs them; move them offline (a later k3sca rotation cross-signs with the current CA).")
	set.Notes = append(set.Notes, "Each new CA chains to the old root through the cross-signed root, so `"+g.p.Name()+" certificate rotate-ca --path=<dir>` accepts it without --force.")
	return set, nil
}

// readCurrentCA reads <dir>/tls/<type>-ca.crt and .key.
func readCurrentCA(dir string, ca CAType) (currentCA, error) {
	var cur currentCA
	for _, f := range []BootstrapField{ca.CertField(), ca.KeyFieldInfo()} {
		p := f.Abs(dir)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return cur, fmt.Errorf("current %s CA %s (%s): %w", ca.Type, kindWord(f.Kind), p, ErrCurrentCAMissing)
		}
	}
	var err error
	if cur.certs, err = LoadBundle(ca.CertField().Abs(dir)); err != nil {
		return cur, fmt.Errorf("current %s CA: %w", ca.Type, err)
	}
	if cur.keys, err = LoadPrivateKeys(ca.KeyFieldInfo().Abs(dir)); err != nil {
		return cur, fmt.Errorf("current %s CA: %w", ca.Type, err)
	}
	return cur, nil
}

func kindWord(k FileKind) string {
	if k == KindKey {
		return "key"
	}
	return "cert"
}

// pickOldRoot chooses the cert that cross-signs the new root, as the script
// does: the 2nd cert and 2nd key after an earlier rotation, else the first.
// The note, when not empty, tells the operator which cert was chosen.
func pickOldRoot(ca CAType, cur currentCA) (caPair, string, error) {
	i := 0
	var note string
	if len(cur.certs) > 1 {
		if len(cur.keys) > 1 {
			i = 1
		} else {
			note = fmt.Sprintf(
				"%s CA: the root key is not in the key file (k3sca keeps root keys out of the datastore); the new root is cross-signed by the current CA %q, which chains to the current root.",
				ca.Type, cur.certs[0].Subject.CommonName)
		}
	}
	old := caPair{cert: cur.certs[i], key: cur.keys[i]}
	if !PublicKeyEqual(old.key.Public(), old.cert.PublicKey) {
		return caPair{}, "", fmt.Errorf("current %s CA: key %d of %s does not sign cert %d %q: %w",
			ca.Type, i+1, ca.KeyFieldInfo().Path, i+1, old.cert.Subject.CommonName, ErrKeyDoesNotMatchCert)
	}
	if !old.cert.IsCA {
		return caPair{}, "", fmt.Errorf("current %s CA %q: %w", ca.Type, old.cert.Subject.CommonName, ErrImportNotCA)
	}
	return old, note, nil
}

// rotateCA issues the new root (for rootKey) and CA (for caKey) of one CA
// type and stages its files.
func (g *genCtx) rotateCA(set *StagedSet, ca CAType, old caPair, rootKey, caKey crypto.Signer) error {
	rootSpec := g.scriptCA(ca.ScriptCN(g.p, "-root")+g.ts(), ScriptRootValidity)
	ssigned, err := g.issue(rootSpec, rootKey, nil, nil)
	if err != nil {
		return fmt.Errorf("%s root: %w", ca.Type, err)
	}
	xsigned, err := g.issue(rootSpec, rootKey, old.cert, old.key)
	if err != nil {
		return fmt.Errorf("%s cross-signed root: %w", ca.Type, err)
	}
	spec := g.scriptCA(ca.ScriptCN(g.p, "-ca")+g.ts(), ScriptRootValidity)
	inter, err := g.pairFor(caKey, spec, &caPair{cert: ssigned, key: rootKey})
	if err != nil {
		return fmt.Errorf("%s CA: %w", ca.Type, err)
	}
	set.addCerts(ca.CertField().Path, ca.Type+" CA, new root, new root cross-signed by old root, old root",
		inter.cert, ssigned, xsigned, old.cert)
	if g.now.After(old.cert.NotAfter) {
		set.Notes = append(set.Notes, fmt.Sprintf("%s CA: the old root %q has expired; rotate-ca validation will fail without --force.",
			ca.Type, old.cert.Subject.CommonName))
	}
	if err := set.addKeys(ca.KeyFieldInfo().Path, ca.Type+" CA key", inter.key); err != nil {
		return err
	}
	// Unlike rotate-default-ca-certs.sh, the root key stays out of tls/: a
	// key file in tls/ is stored in the datastore and copied to every server.
	return set.addKeys(RotationRootKeyPath(ca), ca.Type+" new root key: keep offline, k3s never needs it", rootKey)
}

// RotationRootKeyPath is where GenerateRotation puts a CA's new root key,
// outside the tls/ dir that is loaded into the datastore.
func RotationRootKeyPath(ca CAType) string { return "ca/" + dashed(ca.Type) + "-root.key" }
