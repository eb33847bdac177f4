package steps

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

func TestSimulateRestart(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, sb *Sandbox)
		wantErr error
	}{
		{name: "takes the loaded CAs, re-issues leaves, rewrites the token"},
		{name: "a differing file 3 s newer on disk aborts", wantErr: ErrNewerOnDisk, before: func(t *testing.T, sb *Sandbox) {
			p := pki.ServerCAPath(sb.ServerDir)
			if err := os.WriteFile(p, []byte("edited by hand\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			future := stNow.Add(time.Hour)
			if err := os.Chtimes(p, future, future); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a real data dir is refused", wantErr: ErrNotSandbox, before: func(t *testing.T, sb *Sandbox) {
			if err := os.Remove(filepath.Join(sb.DataDir, sandboxMarker)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sb := stSandbox(t)
			stage := stStage(t, sb)
			l := NewLoad(stInput(sb, stage, ViaAuto))
			if _, err := l.Run(ctx); err != nil {
				t.Fatal(err)
			}
			want := l.Plan().Tokens.New.Hash.Hex
			if tc.before != nil {
				tc.before(t, sb)
			}
			rep, err := SimulateRestart(ctx, sb.DataDir, product.K3s, stNow.Add(time.Minute))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("restart: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if rep.Token.CAHash != want || rep.Token.Password != sb.Token.Password || len(rep.Updated) != 11 {
				t.Errorf("report %d updated, hash %s; want 11 and the validated new hash %s", len(rep.Updated), rep.Token.CAHash, want)
			}
			staged, _ := os.ReadFile(pki.ServerCAPath(stage))
			disk, _ := os.ReadFile(pki.ServerCAPath(sb.ServerDir))
			if !bytes.Equal(staged, disk) {
				t.Errorf("server-ca.crt on disk is not the loaded one")
			}
			ca, _ := pki.LoadBundle(pki.ServerCAPath(sb.ServerDir))
			leaf, err := pki.LoadBundle(filepath.Join(sb.ServerDir, "tls", "serving-kube-apiserver.crt"))
			if err != nil || !bytes.Equal(leaf[0].AuthorityKeyId, ca[0].SubjectKeyId) {
				t.Errorf("serving-kube-apiserver.crt was not re-issued by the new server CA (%v)", err)
			}
			again, err := SimulateRestart(ctx, sb.DataDir, product.K3s, stNow.Add(2*time.Minute))
			if err != nil || len(again.Updated) != 0 {
				t.Errorf("second restart: %v, %d updated; want nothing to do", err, len(again.Updated))
			}
		})
	}
}
