package steps

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestLoadViaServerReason: the server refuses what k3sca's validation
// accepted (its clock is an hour behind, so the new CAs are not valid yet
// there); the error and the refusal carry k3s's own reason, read from
// this node's journal through journalctl, beside k3sca's verdict.
func TestLoadViaServerReason(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	journal := filepath.Join(t.TempDir(), "journal")
	testkit.StubJournalctl(t, journal)
	old := stKV(t, sb)
	in := stInput(sb, sandboxtest.Stage(t, sb), ViaServer)
	in.ServerURL = stSupervisorWith(t, sb, stServer{Now: testkit.Now.Add(-time.Hour), Journal: journal})
	in.ServerLogs = node.ServerLogs{LogFile: filepath.Join(t.TempDir(), "k3s.log")}
	l := NewLoad(in)
	if _, err := l.Preview(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := l.Run(ctx)
	var refusal *ServerRefusalError
	if !errors.Is(err, datastore.ErrServerRefused) || !errors.As(err, &refusal) {
		t.Fatalf("run: %v, want a refusal", err)
	}
	r := refusal.Refusal
	if len(r.ID) != 5 || !strings.HasPrefix(r.Reason, "failed to validate new CA certificates and keys: ") || !strings.Contains(r.Reason, "not yet valid") {
		t.Errorf("refusal %+v, want k3s's reason for a 5-digit ID", r)
	}
	if !strings.HasPrefix(r.Source, "journalctl -u k3s --since @") || r.Logged != testkit.Now.Add(-time.Hour).Format(time.RFC3339) {
		t.Errorf("found in %q at %q", r.Source, r.Logged)
	}
	if !strings.HasPrefix(r.Validation, "accepted (") {
		t.Errorf("local validation %q, want accepted", r.Validation)
	}
	for _, want := range []string{"certificate error ID " + r.ID, r.Reason, "k3sca's own validation: accepted", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if l.Result().State != WriteNone {
		t.Errorf("state %s", l.Result().State)
	}
	stSameKV(t, stKV(t, sb), old)
}
