package ui

import (
	"context"
	"errors"
	"strings"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// hints maps the error classes the steps package names to the operator's
// next move.
var hints = []struct {
	err  error
	hint string
}{
	{steps.ErrK3sRunning, "Stop k3s on this server (systemctl stop k3s), or run k3sca with --via etcd, then try again."},
	{steps.ErrRefused, "k3s would refuse this set; stage a cross-signed rotation instead, or replace the root of trust on purpose with a flow that confirms a new root."},
	{steps.ErrVersionRefused, "Nothing was run. Upgrade k3s on the node the reason names, or take the other path it names, then start the flow again."},
	{steps.ErrStagedIsLive, "Choose a staging dir outside <data-dir>/server."},
	{steps.ErrNoDatastore, "Run the wizard on a server: it needs server/db/state.db, embedded etcd or a running kine."},
	{steps.ErrConcurrent, "The bootstrap data changed meanwhile (another server?). Start the load again to re-read it."},
	{steps.ErrVerifyFailed, "The previous value is back in place. Check the datastore with k3sca datastore show."},
	{node.ErrNotSandbox, "The simulated restart only runs on a data dir made by k3sca sandbox."},
	{node.ErrNewerOnDisk, "Remove the named files, or load them into the datastore first."},
	{node.ErrNoServiceManager, "Without systemd k3sca cannot tell whether k3s runs; make sure it is stopped."},
	{pki.ErrUnknownService, "Pick services from the list."},
	{context.Canceled, "The operation was cancelled; nothing more was done."},
}

// hintFor returns the next move for err, or "".
func hintFor(err error) string {
	for _, h := range hints {
		if errors.Is(err, h.err) {
			return h.hint
		}
	}
	return ""
}

// renderError is a failure in a box: the error and, when its class is
// known, the next move.
func renderError(err error, width int, st Styles) string {
	if width >= wholeWidth {
		s := "✗ error: " + err.Error()
		if h := hintFor(err); h != "" {
			s += "\nNext: " + h
		}
		return s
	}
	w := max(20, width-4)
	var b strings.Builder
	b.WriteString(st.Bad.Render("✗ error") + "\n")
	b.WriteString(wrapAtoms("", err.Error(), w))
	if h := hintFor(err); h != "" {
		b.WriteString("\n\n" + st.Title.Render("Next: ") + strings.TrimPrefix(wrapAtoms("      ", h, w), "      "))
	}
	return st.Box.Width(w + 2).Render(b.String())
}
