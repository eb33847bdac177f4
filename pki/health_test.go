package pki

import (
	"strings"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	cert := func(left time.Duration) CertInfo {
		return CertInfo{Path: "/d/x.crt", Subject: "x", NotBefore: now.Add(-day), NotAfter: now.Add(left)}
	}
	notYet := CertInfo{Path: "/d/y.crt", NotBefore: now.Add(time.Hour), NotAfter: now.Add(400 * day)}
	tests := []struct {
		name       string
		certs      []CertInfo
		unreadable int
		want       State
	}{
		{"all far", []CertInfo{cert(300 * day), cert(3000 * day)}, 0, StateOK},
		{"one within warn", []CertInfo{cert(300 * day), cert(20 * day)}, 0, StateWarning},
		{"exactly warn days", []CertInfo{cert(28 * day)}, 0, StateWarning},
		{"just outside warn", []CertInfo{cert(28*day + time.Second)}, 0, StateOK},
		{"within crit", []CertInfo{cert(20 * day), cert(10 * day)}, 0, StateCritical},
		{"exactly crit days", []CertInfo{cert(14 * day)}, 0, StateCritical},
		{"expired", []CertInfo{cert(-time.Second)}, 0, StateCritical},
		{"not yet valid", []CertInfo{notYet}, 0, StateCritical},
		{"unreadable only", []CertInfo{cert(300 * day)}, 1, StateUnknown},
		{"warning beats unknown", []CertInfo{cert(20 * day)}, 1, StateWarning},
		{"critical beats unknown", []CertInfo{cert(2 * day)}, 1, StateCritical},
		{"nothing found", nil, 0, StateUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &Inventory{Rows: tc.certs}
			for range tc.unreadable {
				inv.Unreadable = append(inv.Unreadable, "/d/bad.crt")
			}
			h := inv.Health(now, 28*day, 14*day)
			if h.State != tc.want {
				t.Fatalf("state = %s, want %s", h.State, tc.want)
			}
			line := h.Line(now, 28*day, 14*day)
			if !strings.HasPrefix(line, "CERTIFICATES "+tc.want.String()+" - ") {
				t.Errorf("status line %q", line)
			}
		})
	}
	// Every list of the inventory is judged: a CA file, the kubeconfig's
	// and the datastore's as much as k3s's rows.
	for name, inv := range map[string]*Inventory{
		"ca": {CAs: []CertInfo{cert(day)}}, "kubeconfig": {Kubeconfig: []CertInfo{cert(day)}},
		"datastore": {Datastore: []CertInfo{cert(day)}}, "kubeconfig unreadable": {Rows: []CertInfo{cert(300 * day)}, KubeconfigUnreadable: true},
	} {
		want := StateCritical
		if name == "kubeconfig unreadable" {
			want = StateUnknown
		}
		if got := inv.Health(now, 28*day, 14*day).State; got != want {
			t.Errorf("%s: state %s, want %s", name, got, want)
		}
	}
}
