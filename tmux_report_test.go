package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// TestCertReportInTmux runs the built binary's check flow at 80x24 in
// tmux on a sandbox, opens the certificate report, filters it to the
// admin certificate, opens it and prints its whole lines with w: the
// whole path of the file and its issuer's key id come back from
// capture-pane -J, and no line of the report is wider than the screen.
func TestCertReportInTmux(t *testing.T) {
	bin, _, sbRoot := tmuxSandbox(t)
	dd := filepath.Join(sbRoot, "data")
	at := flowIndex(steps.FlowCheck)
	s := startTmux(t, "report", fmt.Sprintf("%s -d %s; sleep 60", bin, dd))

	s.waitFor("What do you want to do?")
	for range at {
		s.keys("Down")
	}
	s.keys("Enter")
	s.waitFor("enter report")
	s.keys("Enter")
	list := s.waitFor("certificates (")
	for i, line := range strings.Split(list, "\n") {
		if w := len([]rune(line)); w > 80 {
			t.Errorf("report line %d is %d columns wide: %q", i, w, line)
		}
	}
	s.keys("/")
	s.typeText("admin")
	s.keys("Enter")
	s.waitFor("1 match the filter")
	s.keys("Enter")
	detail := s.waitFor("authority key")
	if !strings.Contains(detail, "Chain") || !strings.Contains(detail, "client-admin.crt") {
		t.Fatalf("the detail view:\n%s", detail)
	}
	s.keys("w")
	s.waitFor("enter goes back")
	joined := s.joined()
	inv, err := steps.Check(t.Context(), steps.CheckInput{DataDir: dd, Product: product.K3s})
	if err != nil {
		t.Fatal(err)
	}
	var admin pki.CertInfo
	for _, c := range inv.Leaves {
		if c.Filename == "client-admin.crt" {
			admin = c
		}
	}
	for _, want := range []string{admin.Path, admin.AuthorityKeyID, admin.Serial} {
		if want == "" || !strings.Contains(joined, want) {
			t.Errorf("w did not print %q whole:\n%s", want, joined)
		}
	}
	s.keys("Enter")
	s.waitFor("authority key")
	s.keys("Escape", "Escape", "Escape")
	s.waitFor("enter report")
}
