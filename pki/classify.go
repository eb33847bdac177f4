package pki

import (
	"bytes"
	"crypto/x509"
)

// Class says how disruptive a staged CA rotation is for the cluster.
type Class string

// The classes, from least to most disruptive.
const (
	// ClassNoChange: no rotatable file differs from the current one.
	ClassNoChange Class = "no-change"
	// ClassServiceKeyOnly: only service.key changes.
	ClassServiceKeyOnly Class = "service-key-only"
	// ClassSameRoot: every changed CA chains to a root the cluster already trusts.
	ClassSameRoot Class = "same-root"
	// ClassCrossSigned: a new root that the old root cross-signed.
	ClassCrossSigned Class = "cross-signed"
	// ClassNewRoot: a root unrelated to the current CA; k3s refuses it without --force.
	ClassNewRoot Class = "new-root"
)

// rank orders the classes by disruption.
func (c Class) rank() int {
	switch c {
	case ClassServiceKeyOnly:
		return 1
	case ClassSameRoot:
		return 2
	case ClassCrossSigned:
		return 3
	case ClassNewRoot:
		return 4
	}
	return 0
}

// Explain is a one-line account of what the class means for the cluster.
func (c Class) Explain() string {
	switch c {
	case ClassNoChange:
		return "No CA or service-account key changes; saving it would store the current data again."
	case ClassServiceKeyOnly:
		return "Only the service-account key list changes: pods keep their tokens as long as the old signing key stays in the list."
	case ClassSameRoot:
		return "Non-disruptive: the new CAs chain to the current root, the token CA hash stays the same and nodes keep trusting the cluster."
	case ClassCrossSigned:
		return "The token CA hash changes; no --force is needed and agents keep trusting the cluster through the cross-signed root, but every node should get the new token."
	case ClassNewRoot:
		return "Disruptive: k3s needs --force, every node using a secure token must get the new token, and all pods using service-account tokens restart."
	}
	return "Unknown rotation class."
}

// classifyCA classifies one changed CA: same-root when the new bundle's own
// chain root is a root of the old bundle, cross-signed when k3s's validateCA
// passed anyway, new-root otherwise.
func classifyCA(oldCerts, newCerts []*x509.Certificate, validateOK bool) Class {
	if root := bundleRoot(newCerts, !validateOK); root != nil {
		for _, c := range oldCerts {
			if isRootCert(c) && bytes.Equal(c.Raw, root.Raw) {
				return ClassSameRoot
			}
		}
	}
	if validateOK {
		return ClassCrossSigned
	}
	return ClassNewRoot
}

// isRootCert is k3s's root test: no AKI, or AKI equal to SKI.
func isRootCert(c *x509.Certificate) bool {
	return len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}

// bundleRoot is the root a bundle's first cert chains to inside the bundle,
// found as Go's verifier (and so hashCA) does: parents by name and key id,
// root candidates first, up to a self-issued cert. Validity periods are
// ignored, so an expired intermediate still leads to its root. checkSig
// verifies each signature; without it the walk trusts names, for bundles
// whose chain k3s's validateCA already verified. nil when there is none.
func bundleRoot(certs []*x509.Certificate, checkSig bool) *x509.Certificate {
	if len(certs) == 0 {
		return nil
	}
	cur := certs[0]
	for range certs {
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) {
			if checkSig && cur.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) != nil {
				return nil
			}
			return cur
		}
		next := issuerIn(cur, certs, checkSig)
		if next == nil {
			return nil
		}
		cur = next
	}
	return nil
}

// issuerIn finds the cert in certs that issued c, trying root candidates first.
func issuerIn(c *x509.Certificate, certs []*x509.Certificate, checkSig bool) *x509.Certificate {
	var fallback *x509.Certificate
	for _, p := range certs {
		if p == c || !bytes.Equal(p.RawSubject, c.RawIssuer) || !keyIDMatch(c, p) {
			continue
		}
		if checkSig && c.CheckSignatureFrom(p) != nil {
			continue
		}
		if isRootCert(p) {
			return p
		}
		if fallback == nil {
			fallback = p
		}
	}
	return fallback
}

// keyIDMatch is false only when both key ids are present and differ.
func keyIDMatch(c, parent *x509.Certificate) bool {
	return len(c.AuthorityKeyId) == 0 || len(parent.SubjectKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, parent.SubjectKeyId)
}

// overallClass is the most disruptive class of the changed CAs; without a
// changed CA it is service-key-only or no-change.
func overallClass(perCA map[string]Class, serviceKeyChanged bool) Class {
	out := ClassNoChange
	for _, c := range perCA {
		if c.rank() > out.rank() {
			out = c
		}
	}
	if out == ClassNoChange && serviceKeyChanged {
		return ClassServiceKeyOnly
	}
	return out
}
