package steps

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore/datastoretest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// stServer is how a stand-in k3s server differs from the sandbox's files.
type stServer struct {
	// Now is the server's clock, which its validation uses (zero:
	// testkit.Now).
	Now time.Time
	// Journal, when set, is a file receiving the lines the server logs,
	// as journald would (a stub journalctl prints it).
	Journal string
}

// stSupervisor stands in for the running k3s server of a sandbox, following
// spec 8: /cacerts serves server-ca.crt; PUT /v1-k3s/cert/cacerts checks
// basic auth against the server password, writes the body's non-empty
// entries into a temp dir, validates it (refusing unless force) and saves
// the merged bootstrap data into state.db with a compare-and-swap.
func stSupervisor(t *testing.T, sb *sandbox.Sandbox) string {
	return stSupervisorWith(t, sb, stServer{})
}

// stSupervisorWith is stSupervisor with the server's own clock and log.
// A refusal is answered as k3s answers it: a random error ID in a
// Kubernetes Status, the reason logged with the ID only.
func stSupervisorWith(t *testing.T, sb *sandbox.Sandbox, opt stServer) string {
	t.Helper()
	return datastoretest.Server{
		Dir: sb.ServerDir, DBPath: sandboxtest.DBPath(sb), Password: sb.Token.Password, Now: opt.Now,
		Refused: func(_ error, lines []string) {
			t.Logf("k3s logs:\n%s", strings.Join(lines, "\n"))
			if opt.Journal == "" {
				return
			}
			f, err := os.OpenFile(opt.Journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			_, _ = f.WriteString(strings.Join(lines, "\n") + "\n")
		},
	}.Start(t)
}

func TestLoadViaServer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fresh   bool // stage brand-new self-signed CAs instead of a cross-signed rotation
		force   bool
		token   func(sb *sandbox.Sandbox) string
		wantErr error
	}{
		{name: "cross-signed rotation saved"},
		{name: "new root refused locally", fresh: true, wantErr: ErrRefused},
		{name: "new root forced", fresh: true, force: true},
		{name: "wrong password", wantErr: datastore.ErrServerAuth, token: func(sb *sandbox.Sandbox) string {
			return pki.FormatToken(sb.Token.CAHash, "server:not-the-password")
		}},
		{name: "token CA hash of another cluster", wantErr: datastore.ErrCAHashMismatch, token: func(sb *sandbox.Sandbox) string {
			return sb.Token.WithCAHash(strings.Repeat("0", 64)).String()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			stage := sandboxtest.Stage(t, sb)
			if tc.fresh {
				stage = stFreshCAs(t)
			}
			old := stKV(t, sb)
			in := stInput(sb, stage, ViaServer)
			in.ServerURL, in.Force = stSupervisor(t, sb), tc.force
			if tc.token != nil {
				in.Token = tc.token(sb)
			}
			l := NewLoad(in)
			_, err := l.Preview(ctx)
			if err == nil {
				_, err = l.Run(ctx)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("load: %v, want %v", err, tc.wantErr)
			}
			got := stKV(t, sb)
			if tc.wantErr != nil {
				stSameKV(t, got, old)
				return
			}
			data, err := datastore.DecodeBootstrap(stDecrypt(t, sb, got.Value))
			if err != nil {
				t.Fatal(err)
			}
			staged, err := os.ReadFile(pki.ServerCAPath(stage))
			if err != nil || string(data["ServerCA"].Content) != string(staged) {
				t.Errorf("the datastore's ServerCA is not the staged one (%v)", err)
			}
		})
	}
}

// stFreshCAs stages brand-new self-signed default CAs: a new root k3s refuses without force.
func stFreshCAs(t *testing.T) string {
	t.Helper()
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Product: product.K3s, Now: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}
