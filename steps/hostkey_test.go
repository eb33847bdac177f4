package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/remote"
)

// TestRolloutDialAcceptsOnlyTheGivenHostKey: the rollout reaches a node
// over a real sshd whose host key known_hosts does not know: it is
// refused, and the refusal names --accept-host-key with the key's
// fingerprint; another fingerprint is refused too; the one shown is
// accepted (and recorded in known_hosts), after which the node is reached
// without it.
func TestRolloutDialAcceptsOnlyTheGivenHostKey(t *testing.T) {
	sshd := testservers.StartSSHD(t, testservers.SSHDOptions{})
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	key, err := os.ReadFile(sshd.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := cluster.ParseNodeFlag(fmt.Sprintf("n1=%s,role=agent,user=%s,port=%d", sshd.Host, sshd.User, sshd.Port))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func(accept map[string]string) error {
		h, err := (&run{env: Env{AcceptHostKeys: accept}}).dial(ctx, n)
		if err == nil {
			_ = h.Close()
		}
		return err
	}
	err = dial(nil)
	var unknown *remote.UnknownHostKeyError
	if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "--accept-host-key n1="+unknown.Fingerprint) {
		t.Fatalf("an unknown host key: %v", err)
	}
	if err := dial(map[string]string{"n1": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}); !errors.As(err, &unknown) {
		t.Fatalf("another fingerprint accepted: %v", err)
	}
	if err := dial(map[string]string{"other": unknown.Fingerprint}); !errors.As(err, &unknown) {
		t.Fatalf("a fingerprint given for another node accepted: %v", err)
	}
	if err := dial(map[string]string{"n1": unknown.Fingerprint}); err != nil {
		t.Fatalf("the fingerprint shown, accepted: %v", err)
	}
	if err := dial(nil); err != nil {
		t.Fatalf("after the accepted key was recorded in known_hosts: %v", err)
	}
}
