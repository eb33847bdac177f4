package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Errors of custom CA import, in the words of generate-custom-ca-certs.sh where it has them.
var (
	// ErrNoRootKey: an intermediate must be generated but the root key was not given.
	ErrNoRootKey = errors.New("cannot generate intermediate certificate without root certificate private key")
	// ErrNoIntermediateKey: an intermediate cert was given without its key.
	ErrNoIntermediateKey = errors.New("cannot generate leaf certificates without intermediate certificate private key")
	// ErrKeyWithoutCert: a root or intermediate key was given without its certificate.
	ErrKeyWithoutCert = errors.New("private key given without its certificate")
	// ErrIntermediateWithoutRoot: an intermediate was given without the root that signed it.
	ErrIntermediateWithoutRoot = errors.New("intermediate certificate given without the root certificate that signed it")
	// ErrKeyDoesNotMatchCert: a private key is not the key of the certificate it comes with.
	ErrKeyDoesNotMatchCert = errors.New("private key does not match the certificate")
	// ErrImportNotCA: an imported certificate cannot sign certificates.
	ErrImportNotCA = errors.New("certificate is not a CA: it needs BasicConstraints CA:TRUE and the keyCertSign key usage")
	// ErrNotSignedByRoot: the intermediate's signature does not verify with the root's key.
	ErrNotSignedByRoot = errors.New("intermediate certificate is not signed by the root certificate")
	// ErrImportExpired: an imported certificate's NotAfter is before now.
	ErrImportExpired = errors.New("certificate has expired")
	// ErrImportNotYetValid: an imported certificate's NotBefore is after now.
	ErrImportNotYetValid = errors.New("certificate is not yet valid")
)

// Paths of generated root and intermediate material, outside tls/ so that
// rotate-ca --path never uploads them.
const (
	RootCertPath         = "ca/root-ca.pem"
	RootKeyPath          = "ca/root-ca.key"
	IntermediateCertPath = "ca/intermediate-ca.pem"
	IntermediateKeyPath  = "ca/intermediate-ca.key"
)

// CustomCAInput is the operator's existing root and intermediate, PEM; any may be nil.
type CustomCAInput struct {
	// RootCert is the root certificate; nil generates a root.
	RootCert []byte
	// RootKey is the root key; needed only to generate an intermediate.
	RootKey []byte
	// IntermediateCert is the intermediate; nil generates one signed by the root.
	IntermediateCert []byte
	// IntermediateKey is required with IntermediateCert.
	IntermediateKey []byte
	// CurrentServiceKey is the existing service.key, appended after the new key; may be nil.
	CurrentServiceKey []byte
}

// GenerateCustomCA stages what generate-custom-ca-certs.sh makes (spec 9.1):
// the root and intermediate (imported or generated), the five CAs signed by
// the intermediate with bundles CA + intermediate + root, and service.key.
// Generated root and intermediate files go under ca/, never tls/. The
// imports are checked first; then every new key is generated concurrently
// and the certificates are signed in order. A cancelled ctx returns its
// error and no set.
func GenerateCustomCA(ctx context.Context, opts GenOptions, in CustomCAInput) (*StagedSet, error) {
	g, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := checkCustomInput(in); err != nil {
		return nil, err
	}
	set := &StagedSet{Kind: "custom-ca"}
	var root, inter caPair
	genRoot, genInter := len(in.RootCert) == 0, len(in.IntermediateCert) == 0
	if !genRoot {
		if root, err = g.importRoot(set, in); err != nil {
			return nil, err
		}
	}
	if !genInter {
		if inter, err = g.importIntermediate(in, root); err != nil {
			return nil, err
		}
	} else if !genRoot && root.key == nil {
		return nil, importErr(InputRootKey, ErrNoRootKey)
	}
	if err := checkCurrentServiceKey(in.CurrentServiceKey); err != nil {
		return nil, err
	}
	var reqs []keyReq
	if genRoot {
		reqs = append(reqs, keyReq{label: "root CA", typ: g.rootKey})
	}
	if genInter {
		reqs = append(reqs, keyReq{label: "intermediate CA", typ: g.rootKey})
	}
	for _, ca := range CATypes {
		reqs = append(reqs, keyReq{label: ca.Type + " CA", typ: g.caKey})
	}
	keys, err := genKeys(ctx, append(reqs, g.serviceKeyReq()))
	if err != nil {
		return nil, err
	}
	next := func() crypto.Signer {
		k := keys[0]
		keys = keys[1:]
		return k
	}
	if genRoot {
		if root, err = g.generatedRoot(set, next()); err != nil {
			return nil, err
		}
	}
	if genInter {
		if inter, err = g.generatedIntermediate(set, next(), root); err != nil {
			return nil, err
		}
	}
	validity := ScriptCAValidity
	if end := inter.cert.NotAfter; end.Before(g.now.Add(validity)) {
		// A CA certificate must not outlive the intermediate that signs it:
		// the chain, and so the cluster, stops at the intermediate's end.
		validity = end.Sub(g.now)
		set.Notes = append(set.Notes, fmt.Sprintf("The intermediate %q expires on %s, before the %d days the CA certificates would get: they end with it, on the same day. Rotate to a new intermediate before then.",
			inter.cert.Subject.CommonName, end.UTC().Format("2006-01-02"), int(ScriptCAValidity.Hours()/24)))
	}
	for _, ca := range CATypes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		spec := g.scriptCA(ca.ScriptCN(g.p, "-ca")+g.ts(), validity)
		pair, err := g.pairFor(next(), spec, &inter)
		if err != nil {
			return nil, fmt.Errorf("%s CA: %w", ca.Type, err)
		}
		set.addCerts(ca.CertField().Path, ca.Type+" CA + intermediate + root", pair.cert, inter.cert, root.cert)
		if err := set.addKeys(ca.KeyFieldInfo().Path, ca.Type+" CA key ("+string(g.caKey)+")", pair.key); err != nil {
			return nil, err
		}
	}
	if err := g.stageServiceKey(set, next(), in.CurrentServiceKey); err != nil {
		return nil, err
	}
	set.noteServerCAHash(g.now)
	set.RotationNotes = append(set.RotationNotes, "Replacing existing self-signed CAs with an unrelated custom root fails rotate-ca validation; it needs --force, and every node must then trust the new root.")
	return set, nil
}

func checkCustomInput(in CustomCAInput) error {
	switch {
	case len(in.RootKey) > 0 && len(in.RootCert) == 0:
		return importErr(InputRootCert, fmt.Errorf("root: %w", ErrKeyWithoutCert))
	case len(in.IntermediateKey) > 0 && len(in.IntermediateCert) == 0:
		return importErr(InputIntermediateCert, fmt.Errorf("intermediate: %w", ErrKeyWithoutCert))
	case len(in.IntermediateCert) > 0 && len(in.IntermediateKey) == 0:
		return importErr(InputIntermediateKey, fmt.Errorf("intermediate: %w", ErrNoIntermediateKey))
	case len(in.IntermediateCert) > 0 && len(in.RootCert) == 0:
		return importErr(InputRootCert, fmt.Errorf("intermediate: %w", ErrIntermediateWithoutRoot))
	}
	return nil
}

// importRoot imports the operator's root; its key may stay nil.
func (g *genCtx) importRoot(set *StagedSet, in CustomCAInput) (caPair, error) {
	root, err := g.importPair("root", in.RootCert, in.RootKey)
	if err == nil && len(root.cert.SubjectKeyId) == 0 {
		set.Notes = append(set.Notes, "The root has no Subject Key Identifier, so certificates it signs carry no AKI and k3s's CA hash may not reach the root.")
	}
	return root, err
}

// generatedRoot issues the self-signed root for key and stages it under ca/.
func (g *genCtx) generatedRoot(set *StagedSet, key crypto.Signer) (caPair, error) {
	spec := g.scriptCA(g.p.CAPrefix()+"root-ca"+g.ts(), ScriptRootValidity)
	root, err := g.pairFor(key, spec, nil)
	if err != nil {
		return caPair{}, fmt.Errorf("root CA: %w", err)
	}
	set.addCerts(RootCertPath, "generated self-signed root CA", root.cert)
	if err := set.addKeys(RootKeyPath, "root CA key: move it offline", root.key); err != nil {
		return caPair{}, err
	}
	set.Notes = append(set.Notes, "Move "+RootKeyPath+" to offline storage; it is needed only to issue a new intermediate. Keep "+RootCertPath+": it is the trust anchor of the join-token CA hash.")
	return root, nil
}

// importIntermediate imports the operator's intermediate and checks that
// root signed it.
func (g *genCtx) importIntermediate(in CustomCAInput, root caPair) (caPair, error) {
	inter, err := g.importPair("intermediate", in.IntermediateCert, in.IntermediateKey)
	if err != nil {
		return caPair{}, err
	}
	if err := inter.cert.CheckSignatureFrom(root.cert); err != nil {
		return caPair{}, importErr(InputIntermediateCert, fmt.Errorf("intermediate %q, root %q: %w: %v",
			inter.cert.Subject.CommonName, root.cert.Subject.CommonName, ErrNotSignedByRoot, err))
	}
	return inter, nil
}

// generatedIntermediate issues the intermediate for key, signed by root
// (whose key the caller checked), and stages it under ca/.
func (g *genCtx) generatedIntermediate(set *StagedSet, key crypto.Signer, root caPair) (caPair, error) {
	spec := g.scriptCA(g.p.CAPrefix()+"intermediate-ca"+g.ts(), ScriptCAValidity)
	inter, err := g.pairFor(key, spec, &root)
	if err != nil {
		return caPair{}, fmt.Errorf("intermediate CA: %w", err)
	}
	set.addCerts(IntermediateCertPath, "generated intermediate CA, signed by the root", inter.cert)
	if err := set.addKeys(IntermediateKeyPath, "intermediate CA key: keep it secure", inter.key); err != nil {
		return caPair{}, err
	}
	set.Notes = append(set.Notes, "Keep "+IntermediateKeyPath+" secure and out of the data dir; it signs the five cluster CAs.")
	return inter, nil
}

// importPair parses an operator's CA cert (first cert of the PEM) and
// optional key, checking that it is a CA valid now and that the key matches.
func (g *genCtx) importPair(label string, certPEM, keyPEM []byte) (caPair, error) {
	certs, err := ParseBundle(certPEM)
	if err != nil {
		return caPair{}, importErr(ImportInput(label+" certificate"), fmt.Errorf("%s certificate: %w", label, err))
	}
	c := certs[0]
	if err := checkImportedCA(c, g.now); err != nil {
		return caPair{}, importErr(ImportInput(label+" certificate"), fmt.Errorf("%s certificate %q: %w", label, c.Subject.CommonName, err))
	}
	pair := caPair{cert: c}
	if len(keyPEM) == 0 {
		return pair, nil
	}
	keys, err := ParsePrivateKeys(keyPEM)
	if err != nil {
		return caPair{}, importErr(ImportInput(label+" key"), fmt.Errorf("%s key: %w", label, err))
	}
	if !PublicKeyEqual(keys[0].Public(), c.PublicKey) {
		return caPair{}, importErr(ImportInput(label+" key"), fmt.Errorf("%s key for %q: %w", label, c.Subject.CommonName, ErrKeyDoesNotMatchCert))
	}
	pair.key = keys[0]
	return pair, nil
}

// checkImportedCA refuses a cert that cannot sign certificates or is not valid at now.
func checkImportedCA(c *x509.Certificate, now time.Time) error {
	if !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return ErrImportNotCA
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("%w: NotAfter %s", ErrImportExpired, c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(c.NotBefore) {
		return fmt.Errorf("%w: NotBefore %s", ErrImportNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
