package node

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFileHolders: a process that holds the -wal file of a path open is
// named with its pid; a path nobody holds has no holder.
func TestFileHolders(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "state.db")
	if err := os.WriteFile(db+"-wal", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := FileHolders(db); len(got) != 0 {
		t.Fatalf("holders before: %q", got)
	}
	cmd := exec.Command("sh", "-c", `exec 3<"$0"; echo ready; exec sleep 60`, db+"-wal")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("holder not ready: %q %v", line, err)
	}
	got := FileHolders(db)
	if want := fmt.Sprintf("(pid %d)", cmd.Process.Pid); !slices.ContainsFunc(got, func(h string) bool { return strings.HasSuffix(h, " "+want) }) {
		t.Errorf("holders %q, want one ending %s", got, want)
	}
	if got := FileHolders(filepath.Join(dir, "other.db")); len(got) != 0 {
		t.Errorf("holders of another path: %q", got)
	}
}
