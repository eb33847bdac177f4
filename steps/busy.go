package steps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/node"
)

// hint adds to a SQLITE_BUSY error the processes that have state.db open
// and what to do; other errors are returned as they are.
func (a Access) hint(err error) error {
	if !errors.Is(err, datastore.ErrBusy) || a.SQLitePath == "" {
		return err
	}
	who := "no other process has it open now (it may have ended)"
	if holders := fileHolders(a.SQLitePath); len(holders) > 0 {
		who = "open in " + strings.Join(holders, ", ")
	}
	wait := "the default " + datastore.DefaultBusyTimeout.String()
	if a.Timeout > 0 {
		wait = a.Timeout.String()
	}
	return fmt.Errorf("%w; waited %s; %s is %s. k3s (kine) running on it, another k3sca (see %s) or a sqlite3 shell holds a lock: "+
		"stop k3s or let the other process end, then run again (--timeout waits longer)",
		err, wait, a.SQLitePath, who, node.LockPath(a.DataDir))
}

// fileHolders names the other processes that have path (or its -wal or
// -shm file) open, from /proc: "k3s (pid 812)". Processes it cannot look
// into are not listed.
func fileHolders(path string) []string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	want := map[string]bool{abs: true, abs + "-wal": true, abs + "-shm": true}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err == nil && want[target] {
				comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
				out = append(out, fmt.Sprintf("%s (pid %d)", strings.TrimSpace(string(comm)), pid))
				break
			}
		}
	}
	return out
}
