package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// LockFile is the file under the server dir that a k3sca which writes
// holds flock'd, from its first writing step to its end: one writer per
// data dir. It stays in place; only the flock counts.
const LockFile = "k3sca.lock"

// ErrLocked refuses a write while another k3sca writes to the data dir.
var ErrLocked = errors.New("another k3sca is writing to this data dir")

// LockHolder is what the holder of the lock wrote into it.
type LockHolder struct {
	// PID is the holder's process id.
	PID int `json:"pid"`
	// Command is what it runs ("k3sca load", "k3sca run rotate-ca").
	Command string `json:"command"`
	// Since is when it took the lock, by its clock.
	Since time.Time `json:"since"`
}

// String names the holder for the operator.
func (h LockHolder) String() string {
	if h.PID == 0 {
		return "a k3sca that is just starting (the lock names no process yet)"
	}
	return fmt.Sprintf("pid %d (%s) since %s", h.PID, h.Command, h.Since.UTC().Format(time.RFC3339))
}

// LockedError is a refused lock; it names who holds it.
type LockedError struct {
	// Path is the lock file.
	Path string
	// Holder is who holds it.
	Holder LockHolder
}

// Error implements error.
func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s is held by %s; nothing was done: wait until it ends (ps -p %d shows it), then run again",
		ErrLocked, e.Path, e.Holder, e.Holder.PID)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// LockPath is the lock file of a data dir.
func LockPath(dataDir string) string {
	return filepath.Join(product.ServerDir(dataDir), LockFile)
}

// Lock takes the write lock of dataDir without waiting, naming command and
// now as its holder, and returns the function that releases it. A lock
// held elsewhere fails with a *LockedError. The kernel drops the lock when
// the process dies, however it dies.
func Lock(dataDir, command string, now time.Time) (release func(), err error) {
	path := LockPath(dataDir)
	if err := os.MkdirAll(filepath.Dir(path), fsutil.ModeDir); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, fsutil.ModeSecret)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			var h LockHolder
			if data, rerr := io.ReadAll(io.LimitReader(f, 4096)); rerr == nil {
				_ = json.Unmarshal(data, &h)
			}
			return nil, &LockedError{Path: path, Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	data, err := json.Marshal(LockHolder{PID: os.Getpid(), Command: command, Since: now.UTC()})
	if err == nil {
		if err = f.Truncate(0); err == nil {
			_, err = f.WriteAt(append(data, '\n'), 0)
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: write the holder: %w", path, err)
	}
	return func() {
		_ = f.Truncate(0)
		_ = f.Close() // closing the last descriptor drops the flock
	}, nil
}
