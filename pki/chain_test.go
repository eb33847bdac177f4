package pki

import (
	"context"
	"strings"
	"testing"
)

func TestInventoryChain(t *testing.T) {
	// root: self-signed; inter: signed by root; cross: the new root
	// cross-signed by the old one, in the same bundle as the new root.
	root := CertInfo{Path: "/a/old-ca.crt", Subject: "old", Issuer: "old", SubjectKeyID: "01", AuthorityKeyID: "01", Serial: "1"}
	newRoot := CertInfo{Path: "/a/server-ca.crt", Subject: "new", Issuer: "new", SubjectKeyID: "02", Serial: "2"}
	cross := CertInfo{Path: "/a/server-ca.crt", Subject: "new", Issuer: "old", SubjectKeyID: "02", AuthorityKeyID: "01", Serial: "3"}
	inter := CertInfo{Path: "/a/inter.crt", Subject: "inter", Issuer: "new", SubjectKeyID: "03", AuthorityKeyID: "02", Serial: "4"}
	noIDs := CertInfo{Path: "/a/x.crt", Subject: "x", Issuer: "old", Serial: "5"}
	orphan := CertInfo{Path: "/a/o.crt", Subject: "o", Issuer: "gone", AuthorityKeyID: "99", Serial: "6"}
	inv := &Inventory{CAs: []CertInfo{root, newRoot, cross, inter}}
	tests := []struct {
		name   string
		c      CertInfo
		want   string
		rooted bool
	}{
		{"a root is its own chain", root, "old", true},
		{"a leaf up to the root by key id", CertInfo{Path: "/a/leaf.crt", Subject: "leaf", Issuer: "inter", AuthorityKeyID: "03"}, "leaf<inter<new", true},
		{"the cross-signed cert goes on to the old root", cross, "new<old", true},
		{"by common name without key ids", noIDs, "x<old", true},
		{"an issuer not in the inventory", orphan, "o", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain, rooted := inv.Chain(tt.c)
			var names []string
			for _, c := range chain {
				names = append(names, c.Subject)
			}
			if got := strings.Join(names, "<"); got != tt.want || rooted != tt.rooted {
				t.Errorf("chain %s rooted %v, want %s rooted %v", got, rooted, tt.want, tt.rooted)
			}
		})
	}
}

func TestInspectKeyIDs(t *testing.T) {
	dir := tcServerFixture(t, true)
	inv, err := Inspect(context.Background(), InspectOptions{DataDir: dir, Services: []string{"admin"}, Now: tcEpoch})
	if err != nil {
		t.Fatal(err)
	}
	admin, client := inv.Leaves[0], inv.CAs[0]
	if client.SubjectKeyID == "" || admin.AuthorityKeyID != client.SubjectKeyID {
		t.Fatalf("admin AKI %q, client CA SKI %q", admin.AuthorityKeyID, client.SubjectKeyID)
	}
	chain, rooted := inv.Chain(admin)
	if len(chain) != 2 || chain[1].Subject != "k3s-client-ca@1" || !rooted {
		t.Errorf("admin chain %+v rooted %v", chain, rooted)
	}
}
