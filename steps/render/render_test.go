package render

import (
	"strings"
	"testing"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

func TestMark(t *testing.T) {
	tests := []struct {
		status steps.Status
		want   string
	}{
		{steps.StatusPending, "·"},
		{steps.StatusRunning, "▸"},
		{steps.StatusDone, "✓"},
		{steps.StatusSkipped, "–"},
		{steps.StatusPlanned, "○"},
		{steps.StatusFailed, "✗"},
		{steps.StatusDeclined, "✗"},
	}
	for _, tc := range tests {
		if got := Mark(tc.status); got != tc.want {
			t.Errorf("Mark(%s) = %q, want %q", tc.status, got, tc.want)
		}
	}
}

// TestData: an inventory prints its table, as WriteText writes it; other
// data (a token report, nil) prints nothing of its own.
func TestData(t *testing.T) {
	inv := &pki.Inventory{TLSDir: "/d/server/tls", CAs: []pki.CertInfo{{Path: "/d/server/tls/server-ca.crt", Subject: "k3s-server-ca", Status: pki.StatusOK}}}
	var want strings.Builder
	if err := inv.WriteText(&want, inv.TLSDir); err != nil {
		t.Fatal(err)
	}
	if got := Data(inv); got != want.String() || !strings.Contains(got, "server-ca.crt") {
		t.Errorf("Data(inventory) = %q, want %q", got, want.String())
	}
	for _, d := range []any{nil, &steps.TokenReport{}, "text"} {
		if got := Data(d); got != "" {
			t.Errorf("Data(%T) = %q, want nothing", d, got)
		}
	}
}
