package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// TestCertReport drives the check flow on a sandbox to its end, opens the
// certificate report (enter), moves the cursor, filters it (/admin), opens
// the admin certificate and goes back step by step with esc. Every screen
// is a golden at both sizes; the detail shows the certificate's key ids
// and its chain as the inventory the step read has them.
func TestCertReport(t *testing.T) {
	specs := steps.Flows()
	at := -1
	for i, sp := range specs {
		if sp.ID == steps.FlowCheck {
			at = i
		}
	}
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			_, env, _ := rfSandbox(t)
			inv, err := steps.Check(context.Background(), steps.CheckInput{DataDir: "data", Product: product.K3s, Now: testkit.Now})
			if err != nil {
				t.Fatal(err)
			}
			d := rfStart(t, Config{Env: env, Specs: specs, Sandbox: true, DataDirSource: "--data-dir flag"}, size[0], size[1])
			d.wait("the menu", func(st rfState) bool { return st.kind == "menu" && st.facts > 0 })
			d.key(tea.KeyDown, at)
			d.key(tea.KeyEnter, 1)
			end := d.wait("the end", func(st rfState) bool { return st.kind == "flow" && st.phase == phEnd && st.factsAfter })
			if !strings.Contains(end.view, "enter report") {
				t.Errorf("the end screen does not offer the report:\n%s", end.view)
			}
			var shots []rfShot

			d.key(tea.KeyEnter, 1)
			st := d.wait("the report", func(st rfState) bool { return st.kind == "certs" && st.certPath != "" })
			if st.certPath != inv.CAs[0].Path {
				t.Errorf("the cursor starts on %s, want the first CA %s", st.certPath, inv.CAs[0].Path)
			}
			shots = append(shots, st.shot("list"))

			d.key(tea.KeyDown, len(inv.CAs)+5)
			want := inv.Leaves[5].Path
			st = d.wait("the cursor on the 6th leaf", func(st rfState) bool { return st.certPath == want })
			if !strings.Contains(st.view, "▸ "+relTo(filepath.Join("data", "server", "tls"), want)) {
				t.Errorf("the selected row is not on screen:\n%s", st.view)
			}
			shots = append(shots, st.shot("list-scrolled"))

			d.typ("/admin")
			d.key(tea.KeyEnter, 1)
			admin := leafNamed(t, inv, "client-admin.crt")
			st = d.wait("the filtered report", func(st rfState) bool {
				return st.certFilter == "admin" && !st.certFiltering && st.certPath == admin.Path
			})
			if strings.Contains(st.view, "client-ca.crt ") || !strings.Contains(st.view, "(1 of ") {
				t.Errorf("the filter kept other certificates:\n%s", st.view)
			}
			shots = append(shots, st.shot("filtered"))

			d.key(tea.KeyEnter, 1)
			st = d.wait("the admin certificate", func(st rfState) bool { return st.certDetail })
			chain, rooted := inv.Chain(admin)
			if !rooted || len(chain) != 2 {
				t.Fatalf("admin chain %v rooted %v", chain, rooted)
			}
			if admin.AuthorityKeyID == "" || chain[1].SubjectKeyID != admin.AuthorityKeyID {
				t.Errorf("admin AKI %q, its CA's SKI %q", admin.AuthorityKeyID, chain[1].SubjectKeyID)
			}
			for _, w := range []string{admin.Serial, admin.AuthorityKeyID, chain[1].Subject, "ClientAuth",
				admin.NotAfter.UTC().Format("2006-01-02 15:04 MST"), "WARNING"} {
				if w == "" || !strings.Contains(st.view, w) {
					t.Errorf("the detail lacks %q:\n%s", w, st.view)
				}
			}
			shots = append(shots, st.shot("detail"))

			d.key(tea.KeyEscape, 1)
			d.wait("the list again", func(st rfState) bool { return st.kind == "certs" && !st.certDetail && st.certFilter == "admin" })
			d.key(tea.KeyEscape, 1)
			d.wait("the filter cleared", func(st rfState) bool { return st.kind == "certs" && st.certFilter == "" })
			d.key(tea.KeyEscape, 1)
			d.wait("the flow's end again", func(st rfState) bool { return st.kind == "flow" && st.phase == phEnd })
			d.quit()

			checkShots(t, shots, size[0], size[1])
		})
	}
}

// leafNamed is the leaf certificate of inv in the file named.
func leafNamed(t *testing.T, inv *pki.Inventory, name string) pki.CertInfo {
	t.Helper()
	for _, c := range inv.Leaves {
		if c.Filename == name {
			return c
		}
	}
	t.Fatalf("no leaf %s", name)
	return pki.CertInfo{}
}

func TestCertTableFilter(t *testing.T) {
	tls := "/d/server/tls"
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := func(file, subject string, status pki.Status) pki.CertInfo {
		return pki.CertInfo{Path: tls + "/" + file, Filename: filepath.Base(file), Subject: subject, Status: status, NotAfter: now}
	}
	inv := &pki.Inventory{
		CAs:     []pki.CertInfo{c("server-ca.crt", "k3s-server-ca@1", pki.StatusOK), c("etcd/peer-ca.crt", "etcd-peer-ca@1", pki.StatusOK)},
		Leaves:  []pki.CertInfo{c("client-admin.crt", "system:admin", pki.StatusWarning), c("etcd/client.crt", "etcd-client", pki.StatusExpired)},
		Missing: []string{"/d/agent/client-kube-proxy.crt", tls + "/client-ca.nochain.crt"},
	}
	tests := []struct {
		filter      string
		rows        []string
		missing     int
		wantInTable string
	}{
		{"", []string{"server-ca.crt", "peer-ca.crt", "client-admin.crt", "client.crt"}, 2, "/d/agent/client-kube-proxy.crt"},
		{"etcd/", []string{"peer-ca.crt", "client.crt"}, 0, "Certificate authorities (1 of 2)"},
		{"warn", []string{"client-admin.crt"}, 0, "(none)"},
		{"SYSTEM:", []string{"client-admin.crt"}, 0, "Leaf certificates (1 of 2)"},
		{"proxy", nil, 1, "client-kube-proxy.crt"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			tab := certTable{inv: inv, tlsDir: tls, width: 80, st: DefaultStyles(nil), filter: tt.filter, cursor: 0}
			var got []string
			for _, r := range tab.rows() {
				got = append(got, r.Filename)
			}
			if strings.Join(got, ",") != strings.Join(tt.rows, ",") || len(tab.missing()) != tt.missing {
				t.Errorf("rows %v missing %v, want %v and %d", got, tab.missing(), tt.rows, tt.missing)
			}
			text, at := tab.render()
			if !strings.Contains(text, tt.wantInTable) {
				t.Errorf("the table lacks %q:\n%s", tt.wantInTable, text)
			}
			if len(tt.rows) > 0 && !strings.HasPrefix(strings.Split(text, "\n")[at], "▸ ") {
				t.Errorf("line %d is not the cursor's:\n%s", at, text)
			}
		})
	}
}
