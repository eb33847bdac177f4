package node

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// TestLock: a second lock on a data dir is refused, naming the holder's
// pid, command and time; once released, the lock can be taken again.
func TestLock(t *testing.T) {
	dd := t.TempDir()
	release, err := Lock(dd, "k3sca load", testkit.Now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dd, "k3sca wizard", testkit.Now.Add(time.Minute))
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want a LockedError", err)
	}
	if le.Holder.PID != os.Getpid() || le.Holder.Command != "k3sca load" || !le.Holder.Since.Equal(testkit.Now) {
		t.Errorf("holder %+v, want this process, k3sca load, %s", le.Holder, testkit.Now)
	}
	if msg := err.Error(); !strings.Contains(msg, "k3sca load") || !strings.Contains(msg, "2026-11-27T12:00:00Z") || !strings.Contains(msg, LockPath(dd)) {
		t.Errorf("message %q does not name the holder and the file", msg)
	}
	release()
	again, err := Lock(dd, "k3sca wizard", testkit.Now)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}
