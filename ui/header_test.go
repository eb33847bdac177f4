package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

// TestHeaderFactsKeepTheVersion: at 80 columns a sandbox's data dir of a
// usual length leaves the version off the full parts; the compact parts
// (sqlite by its kind, the version with the service) bring it back and
// cut nothing. With a data dir path that takes a line of its own they
// leave only the revision off (the full parts would leave the CA hash
// and the version off too); `w` (wholeParts) has every part whole.
func TestHeaderFactsKeepTheVersion(t *testing.T) {
	base := facts{Source: "--data-dir flag", Role: "server", Datastore: "sqlite (server/db/state.db)", Service: "stopped", Init: "sandbox",
		CAHash: "0dd48120dac3a0d8a1c505880a4e90b80f1da82b57fc3130190c8e1419df975d", K3s: "v1.36.3+k3s1"}
	tests := []struct {
		name, dataDir string
		rev           int64
		want          []string
	}{
		{"every full part fits: taken", "/var/lib/rancher/k3s", 0, []string{
			"/var/lib/rancher/k3s (--data-dir flag) · server · sqlite (server/db/state.db)",
			"k3s stopped (sandbox) · CA hash 0dd48120dac3 · k3s v1.36.3+k3s1"}},
		{"the version left off: compact parts", "/var/lib/rancher/k3s", 1, []string{
			"/var/lib/rancher/k3s (--data-dir flag) · server · sqlite",
			"k3s v1.36.3+k3s1 stopped (sandbox) · CA hash 0dd48120dac3 · datastore rev 1"}},
		{"a sandbox's path: compact parts", "/tmp/k3sca-sandbox-3763514710/data", 1, []string{
			"/tmp/k3sca-sandbox-3763514710/data (--data-dir flag) · server · sqlite",
			"k3s v1.36.3+k3s1 stopped (sandbox) · CA hash 0dd48120dac3 · datastore rev 1"}},
		{"a long path: compact parts, only the revision off", "/tmp/a-much-longer-directory-for-the-sandbox-of-k3sca/data", 1, []string{
			"/tmp/a-much-longer-directory-for-the-sandbox-of-k3sca/data (--data-dir flag)",
			"server · sqlite · k3s v1.36.3+k3s1 stopped (sandbox) · CA hash 0dd48120dac3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			f.DataDir, f.Revision = tt.dataDir, tt.rev
			got := headerFacts(f, "k3s", 80)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("header facts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, l := range got {
				if lipgloss.Width(l) > 80 || strings.Contains(l, "…") {
					t.Errorf("line cut or too wide: %q", l)
				}
			}
			whole := strings.Join(f.wholeParts("k3s"), " · ")
			for _, part := range []string{tt.dataDir, "sqlite (server/db/state.db)", "k3s v1.36.3+k3s1", base.CAHash} {
				if !strings.Contains(whole, part) {
					t.Errorf("w does not show %q: %s", part, whole)
				}
			}
		})
	}
}
