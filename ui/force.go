package ui

import (
	"strings"

	"github.com/k3sca/k3sca/pki"
)

// forceOffer sits under a report k3s refuses for its new root.
const forceOffer = "k3s refuses a new root unless forced. Forcing replaces the root of trust: " +
	"every node with a secure token needs the new token, and pods using service-account tokens restart. " +
	"f: force · esc: menu"

// forceConsequences is what loading a new root with --force means.
var forceConsequences = []string{
	"every node that joined with a secure token needs the new token (its CA hash changes);",
	"all pods using service-account tokens restart;",
	"nothing is cross-signed: a node trusts the cluster only with the new token.",
}

// renderForce explains what forcing a refused set means, then lists k3s's
// own refusals.
func renderForce(rep *pki.Report, width int, st Styles) string {
	var b strings.Builder
	b.WriteString(st.Title.Render("Force the load (k3s's --force)") + "\n")
	b.WriteString(hang("", "k3s refuses these CAs: they do not chain to the root the cluster trusts now. "+
		"Forcing loads them anyway and replaces the root of trust:", width) + "\n")
	for _, c := range forceConsequences {
		b.WriteString(hang("• ", c, width) + "\n")
	}
	if len(rep.Errors) > 0 {
		b.WriteString(st.Title.Render("k3s refuses with") + "\n")
		for _, e := range rep.Errors {
			b.WriteString(st.Bad.Render(hang("✗ ", e, width)) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
