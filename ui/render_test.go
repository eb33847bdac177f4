package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

func TestTruncateAndPad(t *testing.T) {
	tests := []struct {
		in       string
		n        int
		trunc    string
		withPads string
	}{
		{"server-ca.crt", 20, "server-ca.crt", "server-ca.crt       "},
		{"server-ca.crt", 13, "server-ca.crt", "server-ca.crt"},
		{"server-ca.crt", 8, "server-…", "server-…"},
		{"k3s-server-ca→x", 14, "k3s-server-ca…", "k3s-server-ca…"},
		{"abc", 1, "…", "…"},
		{"abc", 0, "", ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.trunc {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.trunc)
		}
		if got := pad(tt.in, tt.n); got != tt.withPads {
			t.Errorf("pad(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.withPads)
		}
	}
}

func TestRenderInventoryFitsWidth(t *testing.T) {
	now := testkit.Now
	inv := &pki.Inventory{
		CAs: []pki.CertInfo{{Path: "/d/server/tls/request-header-ca.crt", Subject: "k3s-request-header-ca@1795780800",
			Status: pki.StatusOK, Residual: 10 * 365 * 24 * time.Hour, NotAfter: now}},
		Leaves: []pki.CertInfo{
			{Path: "/d/server/tls/client-admin.crt", Subject: "system:admin", Status: pki.StatusWarning, Residual: 20 * 24 * time.Hour},
			{Path: "/d/server/tls/etcd/client.crt", Subject: "etcd-client", Status: pki.StatusNotYetValid, Residual: 400 * 24 * time.Hour},
			{Path: "/d/server/tls/client-kubelet.crt", Subject: "system:node", Status: pki.StatusExpired, Residual: -48 * time.Hour},
		},
		Missing: []string{"/d/agent/client-kubelet.crt"},
	}
	for _, width := range []int{50, 80, 120} {
		out := renderInventory(inv, "/d/server/tls", width, DefaultStyles(nil))
		for _, line := range strings.Split(out, "\n") {
			if w := lipgloss.Width(line); w > width {
				t.Errorf("width %d: line %q is %d wide", width, line, w)
			}
		}
		wants := []string{"WARNING", "NOT YET VALID", "EXPIRED", "-2d", "Not present (1;", "\n  /d/agent/client-kubelet.crt"}
		if width == 50 {
			wants = append(wants, "reques…ca.crt", "etcd/c…nt.crt")
			if strings.Contains(out, "EXPIRES") {
				t.Errorf("width 50: EXPIRES is not dropped:\n%s", out)
			}
		}
		if width >= 80 {
			wants = append(wants, "request-header-ca.crt", "etcd/client.crt", "EXPIRES", "2026-11-27")
		}
		if width == 80 {
			wants = append(wants, "k3s-request…@1795780800")
		}
		if width == 120 {
			wants = append(wants, "k3s-request-header-ca@1795780800", "ISSUER")
		}
		if strings.Contains(out, "~") {
			t.Errorf("width %d: a cell is cut with ~:\n%s", width, out)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("width %d: %q missing from\n%s", width, want, out)
			}
		}
	}
}

func TestConfirmHint(t *testing.T) {
	tests := []struct {
		typed string
		tried bool
		hint  bool
	}{
		{"", false, false},
		{"lo", false, false},
		{"load", true, false},
		{"lod", false, true},
		{"loads", false, true},
		{"lo", true, true},
		{"LOAD", false, true},
	}
	for _, tt := range tests {
		if got := confirmHint("load", tt.typed, tt.tried) != ""; got != tt.hint {
			t.Errorf("confirmHint(%q, tried=%t) shown=%t, want %t", tt.typed, tt.tried, got, tt.hint)
		}
	}
}

func TestLineInput(t *testing.T) {
	tests := []struct {
		name string
		keys []tea.KeyMsg
		want string
	}{
		{"typing appends", []tea.KeyMsg{{Type: tea.KeySpace}, {Type: tea.KeyRunes, Runes: []rune("ab")}}, "/x/y ab"},
		{"backspace", []tea.KeyMsg{{Type: tea.KeyBackspace}}, "/x/"},
		{"ctrl+w deletes a path element", []tea.KeyMsg{{Type: tea.KeyCtrlW}}, "/x/"},
		{"ctrl+w twice", []tea.KeyMsg{{Type: tea.KeyCtrlW}, {Type: tea.KeyCtrlW}}, "/"},
		{"ctrl+u clears", []tea.KeyMsg{{Type: tea.KeyCtrlU}}, ""},
		{"paste drops the newline", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("z\n"), Paste: true}}, "/x/yz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := lineInput{}
			in.SetValue("/x/y")
			for _, k := range tt.keys {
				in.Update(k)
			}
			if got := in.Value(); got != tt.want {
				t.Fatalf("value %q, want %q", got, tt.want)
			}
		})
	}
	in := lineInput{Prompt: "> ", Width: 10}
	in.SetValue("/a/very/long/path")
	if got, want := in.View(), "> …g/path"+cursorMark; got != want {
		t.Errorf("View = %q, want %q", got, want)
	}
}

func TestDetailLines(t *testing.T) {
	cert := "k3s-request-header-ca@1795780800 <- k3s-request-header-root@1795780800 until 2046-11-22"
	got := detailLines(cert, 80)
	want := "    k3s-request-header-ca@1795780800 ← k3s-request-header-root@1795780800\n      until 2046-11-22"
	if got != want {
		t.Errorf("detailLines =\n%s\nwant\n%s", got, want)
	}
	if got := detailLines("0644, 570 bytes", 80); got != "    0644, 570 bytes" {
		t.Errorf("short detail = %q", got)
	}
	// Not a certificate: "until" in prose; the hash stays whole on a line
	// that fits (it was cut at the screen's edge).
	hash := strings.Repeat("0123456789abcdef", 4)
	wait := "agent: restart, then wait until it shows the new CA (now: /var/lib/rancher/k3s/agent/server-ca.crt hashes to " + hash + ")"
	for _, w := range []int{80, 120} {
		got := detailLines(wait, w)
		for _, l := range strings.Split(got, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("at %d columns a line is %d wide: %q", w, ansi.StringWidth(l), l)
			}
		}
		if !strings.Contains(got, hash) {
			t.Errorf("at %d columns the hash is not whole:\n%s", w, got)
		}
	}
}

// TestFactsVersion: the header names the k3s version with the service, or
// says it is unknown.
func TestFactsVersion(t *testing.T) {
	for _, tt := range []struct {
		k3s  string
		want []string
	}{
		{"v1.36.3+k3s1", []string{"/var/lib/rancher/k3s", "k3s stopped (systemd)", "k3s v1.36.3+k3s1"}},
		{"unknown: k3s is not on PATH", []string{"/var/lib/rancher/k3s", "k3s stopped (systemd)", "k3s version unknown"}},
		{"", []string{"/var/lib/rancher/k3s", "k3s stopped (systemd)"}},
	} {
		f := facts{DataDir: "/var/lib/rancher/k3s", Service: "stopped", Init: "systemd", K3s: tt.k3s}
		if got := f.parts("k3s"); !slices.Equal(got, tt.want) {
			t.Errorf("K3s %q: parts %q, want %q", tt.k3s, got, tt.want)
		}
	}
}

// TestRenderPlanWrapsItsTitle: a plan's title naming a long path wraps at
// the screen's width with the path whole (it ran off the edge at 80
// columns: "... /tmp/sbx/inventory.yml (nothing changed y").
func TestRenderPlanWrapsItsTitle(t *testing.T) {
	path := "/tmp/a-rather-long-sandbox-dir/with/some/depth/inventory.yml"
	p := &steps.Plan{Title: "Dry run of the rollout to the nodes of " + path + " (nothing changed yet)"}
	for _, w := range []int{60, 80, 120} {
		out := renderPlan(p, "", w, DefaultStyles(nil))
		for _, l := range strings.Split(out, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("at %d columns a line is %d wide: %q", w, ansi.StringWidth(l), l)
			}
		}
		if !strings.Contains(out, path) || strings.Join(strings.Fields(out), " ") != p.Title {
			t.Errorf("at %d columns the title is not whole:\n%s", w, out)
		}
	}
}
