package pki

import (
	"bytes"
	"strings"
	"testing"
)

// TestInventoryWriteText: one line per certificate, CAs marked, paths
// relative to the tls dir, a long subject whole (never cut), then the
// unreadable files.
func TestInventoryWriteText(t *testing.T) {
	inv := tcInventory()
	for i := range inv.CAs {
		inv.CAs[i].Path = "/d/server/tls/" + inv.CAs[i].Filename
	}
	for i := range inv.Leaves {
		inv.Leaves[i].Path = "/d/server/tls/" + inv.Leaves[i].Filename
	}
	long := "CN=" + strings.Repeat("very-long-subject-", 8)
	inv.Leaves[0].Subject = long
	inv.Unreadable = []string{"/d/server/tls/broken.crt", "/elsewhere/x.crt"}
	var b bytes.Buffer
	if err := inv.WriteText(&b, "/d/server/tls"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []struct{ prefix, contains string }{
		{"    FILE", "SUBJECT"},
		{"CA  server-ca.crt", "k3s-server-ca@1"},
		{"    client-admin.crt", long},
		{"    kube-scheduler.crt", "NOT YET VALID"},
		{"unreadable: broken.crt", ""},
		{"unreadable: /elsewhere/x.crt", ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("WriteText =\n%s", b.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w.prefix) || !strings.Contains(lines[i], w.contains) {
			t.Errorf("line %d = %q, want prefix %q holding %q", i, lines[i], w.prefix, w.contains)
		}
	}
	// Aligned: STATUS starts in the same column on every certificate line.
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:4] {
		if st := l[col:]; !strings.HasPrefix(st, "OK") && !strings.HasPrefix(st, "WARNING") && !strings.HasPrefix(st, "NOT YET VALID") {
			t.Errorf("STATUS not aligned at %d in %q", col, l)
		}
	}
}
