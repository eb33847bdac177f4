package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// flowHelps say, per flow, what it does, what each step changes and what
// k3s does at the restart. `?` on the flow's form or screen shows it, and
// f1 too while `?` would be typed into a field.
var flowHelps = map[string]string{
	steps.FlowCheck: `Reads every CA and leaf certificate of the data dir, like k3s certificate check, with the admin kubeconfig's certificates, and names the services to rotate; then compares the CA files with the CAs in the datastore.
Steps: the expiry report (reads; enter opens the certificate report: / filters, enter shows one certificate) → the datastore's CAs (reads).
Changes nothing. No restart.`,
	steps.FlowRotateCerts: `Rotates the leaf (client and serving) certificates of the chosen services, like k3s certificate rotate.
Steps: the report (reads) → stop k3s (the service) → back up and remove the chosen certificates and keys (files under server/tls; the backup dir is named) → start k3s → the new expiry dates.
At the start k3s re-issues every leaf certificate that is missing, signed by the current CAs; the CAs and the join token do not change.
With a cluster (--inventory, a sandbox cluster) a last step does the same on every node (or those named), servers one at a time, then agents: a dry run unless the cluster's name is typed; k3s is started again on a node whose rotation fails; --rotated-since resumes.`,
	steps.FlowCustomCA: `Bootstraps a custom CA before k3s first starts: imports or generates the root and intermediate and writes the k3s CA set into server/tls.
Steps: refuse a cluster that has started (reads) → write the CA set (files in server/tls) → validate → the token hash the cluster will have → move the root and intermediate keys off the node.
At its first start k3s takes the CAs from server/tls and stores them in the datastore.`,
	steps.FlowRotateCustomCA: `Rotates a custom CA: a new intermediate under the same root, or a new root of trust (disruptive: confirmed by the cluster's name).
Steps: stage the new set (a new dir, never the live server/tls) → validate → the old and new CA hash and the full new token → stop k3s when the write needs it → load into the datastore (a backup first, one compare-and-swap, a read-back) → restart this server → the restart order for the other nodes.
At the restart k3s takes the CA files from the datastore (the datastore wins over the disk), re-issues the leaf certificates and rewrites server/token with the new CA hash. Nodes joining with a full token need the new one.`,
	steps.FlowRotateCA: `Rotates k3s's self-signed CAs with new CAs cross-signed by the old ones, so every node keeps trusting the cluster during the change; k3s accepts the set without --force.
Steps: stage the set (a new dir) → validate → the new CA hash and token → stop k3s when the write needs it → load into the datastore (backup, compare-and-swap, read-back) → restart this server → the restart order for the other nodes.
At the restart k3s takes the new CAs from the datastore, re-issues the leaf certificates and rewrites server/token with the new CA hash.`,
	steps.FlowRotateServiceKey: `Rotates the service-account issuer key: a new signing key first, the old keys kept, so tokens already issued stay valid.
Steps: stage the key set (a new dir) → validate → stop k3s when the write needs it → load into the datastore → restart the servers only.
At the restart the API server signs new service-account tokens with the new key and still accepts the old ones. The CA hash and join tokens do not change.`,
	steps.FlowDatastore: `Shows the bootstrap data in the datastore next to the files on disk and the backups k3sca made; restores one when a backup is chosen (the picker lists them as k3sca datastore backups does).
Steps: the bootstrap data (reads) → the backups (reads); with a backup: stop k3s when the write needs it → restore (the value it replaces is backed up first, one compare-and-swap, a read-back; asks for the word "restore") → restart this server → the restart order for the other nodes. Without one, nothing is written.
At the restart k3s takes the restored files from the datastore (the restore is stamped with its own time, so the datastore wins over the disk) and rewrites server/token when the CA hash changed. The backup of the replaced value and its undo command are printed at the end and again when the wizard exits.`,
	steps.FlowLoad: `Validates a set staged elsewhere (k3sca generate rotation --out DIR --yes) and loads it into the datastore.
Steps: validate → the new CA hash and token → stop k3s when the write needs it → load (backup, compare-and-swap, read-back) → restart this server → the restart order for the other nodes.
At the restart k3s takes the loaded files from the datastore and rewrites server/token when the CA hash changed.`,
	steps.FlowRollout: `After a CA change on this server: carries it to every other node of the cluster (--inventory, --kubeconfig or --node), confirmed by the cluster's name.
Steps: one step, node by node in order: servers one at a time, then agents. On each node: the token files (config.yaml, the unit's env file or its ExecStart) get the new CA hash; on a server, the empty file server/tls/dynamic-cert-regenerate; then the restart, and (with the admin kubeconfig) the node must be Ready before the next.
At its restart a server re-issues its serving certificates from the CAs in the datastore; an agent checks the server's CA against the hash in its token, so it must have the new token first. A failed node stops the rollout; running it again resumes from what the nodes say.`,
}

// flowHelpScreen shows a flow's help over the screen it was opened from;
// esc or ? goes back to that screen as it was.
type flowHelpScreen struct {
	com   *Common
	prev  screen
	title string
	text  string
	keys  keyHelp
	vp    viewport.Model
}

// helpFor opens the help of flow id over prev, nil when there is none.
func helpFor(c *Common, prev screen, id string) screen {
	text, ok := flowHelps[id]
	if !ok {
		return nil
	}
	h := &flowHelpScreen{com: c, prev: prev, title: prev.Title(), text: text, keys: prev.Help(), vp: newViewport()}
	return h
}

// backMsg shows a screen again as it was, without starting it anew.
type backMsg struct{ s screen }

// Init implements screen.
func (h *flowHelpScreen) Init() tea.Cmd { return nil }

// Title implements screen.
func (h *flowHelpScreen) Title() string { return h.title + " · help" }

// Typing implements screen.
func (h *flowHelpScreen) Typing() bool { return false }

// Interrupt implements screen: ctrl+c goes to the screen under the help.
func (h *flowHelpScreen) Interrupt() tea.Cmd { return h.prev.Interrupt() }

// Help implements screen.
func (h *flowHelpScreen) Help() keyHelp {
	return keyHelp{short: []key.Binding{with(keys.Back, "esc/?/f1", "back"), with(keys.ScrollUp, "↑↓ pgup/pgdn", "scroll")}}
}

// SetSize implements screen.
func (h *flowHelpScreen) SetSize(w, ht int) {
	h.vp.Width, h.vp.Height = w, ht
	h.vp.SetContent(h.content(w))
}

// Whole implements wholer.
func (h *flowHelpScreen) Whole() string { return h.content(wholeWidth) }

func (h *flowHelpScreen) content(w int) string {
	st := h.com.Styles
	lines := []string{st.Title.Render(hang("", h.title, w)), ""}
	for _, p := range strings.Split(h.text, "\n") {
		lines = append(lines, hang("", p, w), "")
	}
	lines = append(lines, st.Title.Render("Keys"))
	for _, b := range append(h.keys.short, h.keys.more...) {
		if hk := b.Help(); hk.Key != "" {
			lines = append(lines, hang("  "+pad(hk.Key, 14)+" ", hk.Desc, w))
		}
	}
	return strings.Join(lines, "\n")
}

// Update implements screen.
func (h *flowHelpScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		// The screen under the help keeps running (a step, a check).
		var cmd tea.Cmd
		h.prev, cmd = h.prev.Update(msg)
		return h, cmd
	}
	switch {
	case key.Matches(k, keys.Back, keys.Help, keys.FlowHelp, keys.Quit):
		return h, msgCmd(backMsg{s: h.prev})
	}
	var cmd tea.Cmd
	h.vp, cmd = h.vp.Update(k)
	return h, cmd
}

// View implements screen.
func (h *flowHelpScreen) View() string { return h.vp.View() }
