package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileHolders names the other processes that have path (or its -wal or
// -shm file) open, from /proc: "k3s (pid 812)". Processes it cannot look
// into are not listed.
func FileHolders(path string) []string {
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
