package pki

// SelfSigned reports whether c names itself as its issuer: the same
// common name, and no other key identifier for its authority.
func (c CertInfo) SelfSigned() bool {
	return c.Subject == c.Issuer && (c.AuthorityKeyID == "" || c.AuthorityKeyID == c.SubjectKeyID)
}

// issuedBy reports whether ca is the issuer c names: by key identifier
// when both carry one, by common name otherwise.
func issuedBy(c, ca CertInfo) bool {
	if c.AuthorityKeyID != "" && ca.SubjectKeyID != "" {
		return c.AuthorityKeyID == ca.SubjectKeyID
	}
	return c.Issuer == ca.Subject
}

// Chain is c and the CA certificates of the inventory above it, issuer
// after issuer, as the certificates name them (authority key id to
// subject key id; common names when a certificate has no key ids; no
// signature is checked). An issuer in the same file as the certificate
// is preferred, as k3s bundles a CA with the one that signed it. rooted
// reports whether the chain ends at a self-signed certificate; false when
// an issuer is not in the inventory.
func (inv *Inventory) Chain(c CertInfo) (chain []CertInfo, rooted bool) {
	chain = []CertInfo{c}
	for cur := c; ; {
		if cur.SelfSigned() {
			return chain, true
		}
		next, ok := inv.issuerOf(cur)
		if !ok || len(chain) > len(inv.CAs) {
			return chain, false
		}
		chain = append(chain, next)
		cur = next
	}
}

// issuerOf finds the CA certificate cur names as its issuer.
func (inv *Inventory) issuerOf(cur CertInfo) (CertInfo, bool) {
	var found *CertInfo
	for i := range inv.CAs {
		ca := inv.CAs[i]
		if ca.Path == cur.Path && ca.Serial == cur.Serial || !issuedBy(cur, ca) {
			continue
		}
		if ca.Path == cur.Path {
			return ca, true
		}
		if found == nil {
			found = &inv.CAs[i]
		}
	}
	if found == nil {
		return CertInfo{}, false
	}
	return *found, true
}
