package steps

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestLoadLostReply loads through a TCP proxy that loses one exchange of
// the compare-and-swap, in front of a real kine on SQLite and a real
// embedded etcd. Whatever the proxy loses, the load reports what the
// datastore holds, read directly afterwards: written (the reply was lost
// after the write was applied), not written (the request was lost), or
// unknown (the reply was lost and the datastore then unreachable), and in
// that case the command it names finds out.
func TestLoadLostReply(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a connection for testservers.ReplyHold per case")
	}
	type datastoreKind int
	const (
		kine datastoreKind = iota
		etcd
	)
	tests := []struct {
		name      string
		store     datastoreKind
		lose      func(*testservers.Proxy)
		down      bool // the datastore is unreachable after the loss
		wantState WriteState
	}{
		{name: "kine reply lost", store: kine, lose: (*testservers.Proxy).DropNextReply, wantState: WriteDone},
		{name: "kine request lost", store: kine, lose: (*testservers.Proxy).DropNextRequest, wantState: WriteNone},
		{name: "kine reply lost then down", store: kine, lose: (*testservers.Proxy).DropNextReply, down: true, wantState: WriteUnknown},
		{name: "etcd reply lost", store: etcd, lose: (*testservers.Proxy).DropNextReply, wantState: WriteDone},
		{name: "etcd request lost", store: etcd, lose: (*testservers.Proxy).DropNextRequest, wantState: WriteNone},
		{name: "etcd reply lost then down", store: etcd, lose: (*testservers.Proxy).DropNextReply, down: true, wantState: WriteUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sb := sandboxtest.New(t)
			stage := sandboxtest.Stage(t, sb)
			var direct datastore.EtcdConfig
			var proxy *testservers.Proxy
			switch tt.store {
			case kine:
				stStartKine(t, sb)
				sock := filepath.Join(sb.ServerDir, pki.KineSocket)
				direct = datastore.EtcdConfig{Endpoints: []string{"unix://" + sock}, DialTimeout: time.Second}
				proxy = testservers.StartProxy(t, "unix", sock)
			case etcd:
				direct = stStartEtcd(t)
				e, err := datastore.OpenEtcd(ctx, direct)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Create(ctx, sb.Key, stKV(t, sb).Value); err != nil {
					t.Fatal(err)
				}
				_ = e.Close()
				proxy = testservers.StartProxy(t, "tcp", strings.TrimPrefix(direct.Endpoints[0], "http://"))
			}
			in := stInput(sb, stage, ViaEtcd)
			in.Flow = FlowLoad
			in.Access.Etcd = datastore.EtcdConfig{Endpoints: []string{proxy.URL()}, DialTimeout: time.Second}
			in.Hook = func(point string) {
				if point == "before-write" {
					tt.lose(proxy)
				}
			}
			if tt.down {
				go func() { <-proxy.Dropped(); proxy.Close() }()
			}
			l := NewLoad(in)
			defer l.Close()
			sum, err := l.Run(ctx)
			select {
			case <-proxy.Dropped():
			default:
				t.Fatalf("the proxy lost nothing: the test proves nothing (run: %q, %v)", sum, err)
			}

			// What the datastore holds, read without the proxy.
			e, oerr := datastore.OpenEtcd(ctx, direct)
			if oerr != nil {
				t.Fatal(oerr)
			}
			defer e.Close()
			kv, gerr := e.Get(ctx, sb.Key)
			if gerr != nil {
				t.Fatal(gerr)
			}
			holdsNew := l.holdsNew(kv)
			state := l.Result().State
			t.Logf("run: %q, %v; state %s; datastore holds the new value: %t", sum, err, state, holdsNew)
			if state != tt.wantState {
				t.Fatalf("state %s, want %s (err %v)", state, tt.wantState, err)
			}
			// The backup taken before the write records the flow and
			// what the run reported of the write.
			if b, berr := ReadBackup(l.Result().Backup); berr != nil {
				t.Errorf("read the backup: %v", berr)
			} else if b.Flow != FlowLoad || b.Write != state {
				t.Errorf("backup %s records flow %q, write %q; want %q, %q", l.Result().Backup, b.Flow, b.Write, FlowLoad, state)
			}
			switch state {
			case WriteDone:
				if err != nil || !holdsNew || l.Result().NewRevision != kv.ModRevision || !strings.Contains(sum, "reply was lost") {
					t.Errorf("reported written (%q, %v, revision %d) but holds new %t at %d", sum, err, l.Result().NewRevision, holdsNew, kv.ModRevision)
				}
			case WriteNone:
				if err == nil || errors.Is(err, ErrOutcomeUnknown) || holdsNew || !strings.Contains(err.Error(), "nothing was written") {
					t.Errorf("reported not written (%v) but holds new %t", err, holdsNew)
				}
			case WriteUnknown:
				var ue *UnknownOutcomeError
				if !errors.As(err, &ue) || !strings.Contains(ue.Check, "--dry-run") {
					t.Fatalf("unknown outcome without the command that finds out: %v", err)
				}
				// The command it names, run against the datastore: its
				// answer is the truth.
				check := stInput(sb, stage, ViaEtcd)
				check.Access.Etcd, check.DryRun = direct, true
				cl := NewLoad(check)
				defer cl.Close()
				if _, err := cl.Preview(ctx); err != nil {
					t.Fatal(err)
				}
				if already := len(cl.Plan().Changes) == 0; already != holdsNew {
					t.Errorf("the check says already written %t, the datastore holds the new value %t", already, holdsNew)
				}
			}
		})
	}
}
