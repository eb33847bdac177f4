package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// listedBackup is one row of `k3sca datastore backups -o json`.
type listedBackup struct {
	File       string    `json:"file"`
	Created    time.Time `json:"created"`
	Revision   int64     `json:"revision"`
	CAHash     string    `json:"caHash"`
	Flow       string    `json:"flow"`
	Write      string    `json:"write"`
	Incomplete bool      `json:"incomplete"`
}

// TestRestorePickerInTmux runs the built binary's datastore flow at 80x24
// in tmux on a sandbox that two headless rotations and a killed run left
// with two backups and an incomplete one. The restore field's picker lists
// what `k3sca datastore backups` lists (time, revision, flow, CA hash,
// status),
// in its order, newest first; ↓↓ picks the older complete backup, which
// fills the field; the flow restores that backup (the CA hash on disk is
// the one it recorded); after exit the sandbox's token pins that hash, the
// restore's own backup and undo command come back whole from capture-pane
// -J, and that command, as printed, puts the rotated value back.
func TestRestorePickerInTmux(t *testing.T) {
	bin, dir, sbRoot := tmuxSandbox(t)
	dd := filepath.Join(sbRoot, "data")
	diskHash := func() string {
		t.Helper()
		b, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(dd)))
		if err != nil {
			t.Fatal(err)
		}
		h, err := pki.HashCA(b, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return h.Hex
	}
	// Two rotations, a second apart: two backups, the first holding the
	// sandbox's CAs, the second the first rotation's.
	var hashes []string
	for i := range 2 {
		hashes = append(hashes, diskHash())
		if i > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		cmd := exec.Command(bin, "run", "rotate-ca", "-d", dd, "--path", filepath.Join(dir, fmt.Sprintf("stage%d", i)), "--yes", "--confirm", "load")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rotate-ca %d: %v\n%s", i, err, out)
		}
	}
	rotated := diskHash()
	// What a killed run left, older than both.
	killedAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	killed := filepath.Join(steps.BackupDir(dd), fmt.Sprintf(".incomplete-%d-9-99", killedAt.Unix()))
	if err := os.MkdirAll(filepath.Join(killed, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(bin, "datastore", "backups", "-d", dd, "-o", "json").Output()
	if err != nil {
		t.Fatalf("datastore backups: %v", err)
	}
	var listed []listedBackup
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[0].Revision != 2 || listed[1].Revision != 1 || !listed[2].Incomplete || listed[2].File != killed ||
		listed[0].CAHash != hashes[1] || listed[1].CAHash != hashes[0] {
		t.Fatalf("datastore backups lists (hashes %v):\n%s", hashes, out)
	}

	at := flowIndex(steps.FlowDatastore)
	// The sandbox command reopens the sandbox and runs the wizard on it.
	s := startTmux(t, "restore", fmt.Sprintf("%s sandbox --dir %s; sleep 60", bin, sbRoot))
	s.waitFor("What do you want to do?")
	for range at {
		s.keys("Down")
	}
	s.keys("Enter")
	form := s.waitFor("newest first")
	// Each backup is a row in the order datastore backups lists them,
	// with the time, revision, CA hash and status it lists.
	lines := strings.Split(form, "\n")
	// The flow column gives way at 80 columns when a backup's name would
	// not fit on its row (datastore backups still lists it).
	flowShown := strings.Contains(form, "FLOW ")
	row := func(b listedBackup) int {
		created, rev, flow, hash, status := b.Created.UTC().Format("2006-01-02 15:04:05"), fmt.Sprint(b.Revision), b.Flow, b.CAHash, "written"
		if !b.Incomplete && (b.Flow != steps.FlowRotateCA || b.Write != "written") {
			t.Errorf("datastore backups lists flow %q, write %q for a rotate-ca run that wrote", b.Flow, b.Write)
		}
		if b.Incomplete {
			// Its name holds the time and the revision (the JSON has
			// only the file).
			created, rev, flow, hash, status = killedAt.UTC().Format("2006-01-02 15:04:05"), "9", "-", "-", "INCOMPLETE"
		}
		if len(hash) > 12 {
			hash = hash[:12]
		}
		for i, l := range lines {
			f := strings.Fields(l)
			if strings.Contains(l, created) && slices.Contains(f, rev) && (!flowShown || slices.Contains(f, flow)) && slices.Contains(f, hash) && strings.Contains(l, "  "+status) {
				return i
			}
		}
		t.Errorf("no row for %+v", b)
		return -1
	}
	if r0, r1, r2 := row(listed[0]), row(listed[1]), row(listed[2]); r0 < 0 || r0 > r1 || r1 > r2 {
		t.Errorf("the picker's rows %d, %d, %d are not in the order of datastore backups:\n%s", r0, r1, r2, form)
	}
	for i, l := range lines {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("form line %d is %d columns wide: %q", i, w, l)
		}
	}

	// ↓ picks the newest, ↓ again the older one: the field holds it.
	s.keys("Down", "Down")
	chosen := listed[1].File
	picked := s.waitFor(filepath.Base(filepath.Dir(chosen)) + "/backup.json")
	if !strings.Contains(lineWith(t, picked, "▸"), fmt.Sprintf("  %d  ", listed[1].Revision)) {
		t.Errorf("the chosen row is not the older backup:\n%s", picked)
	}
	// The field scrolls a path wider than itself; ctrl+o prints it whole.
	s.keys("C-o")
	s.waitFor("enter goes back")
	if !strings.Contains(s.joined(), "backup to restore  "+chosen) {
		t.Errorf("ctrl+o on the form does not print the chosen backup %s whole:\n%s", chosen, s.joined())
	}
	s.keys("Enter")
	s.waitFor("newest first")
	s.keys("C-s")
	s.waitFor(`Type "restore"`)
	// The flow restores the file picked: its step names it whole.
	s.keys("C-o")
	s.waitFor("enter goes back")
	if !strings.Contains(s.joined(), "Restore "+chosen) {
		t.Errorf("the flow does not restore %s:\n%s", chosen, s.joined())
	}
	s.keys("Enter")
	s.waitFor(`Type "restore"`)
	s.typeText("restore")
	s.keys("Enter")
	s.waitFor("✓ done")
	if h := diskHash(); h != listed[1].CAHash {
		t.Errorf("after the restore and the restart the CA hash on disk is %s, want the backup's %s", h, listed[1].CAHash)
	}
	s.keys("q")
	s.waitFor("the sandbox stays in")
	after := s.joined()
	// The sandbox's token printed at exit is the current one, not the
	// one of start-up: it pins the restored CA hash.
	if l := lineWith(t, after, "sandbox data dir: "); !strings.Contains(l, "token K10"+listed[1].CAHash+"::") {
		t.Errorf("at exit the sandbox's token does not pin the restored CA hash %s: %q", listed[1].CAHash, l)
	}
	_, saved, _ := strings.Cut(lineWith(t, after, "    backup: "), "backup: ")
	saved = strings.TrimSpace(saved)
	if b, err := steps.ReadBackup(saved); err != nil || b.CAHash != rotated {
		t.Fatalf("the printed backup %q of the replaced value: %v (want CA hash %s)\n%s", saved, err, rotated, after)
	}
	_, undo, _ := strings.Cut(lineWith(t, after, "undo with: "), "undo with: ")
	undoArgs := strings.Fields(undo)
	if len(undoArgs) < 4 || undoArgs[0] != "k3sca" || !slices.Contains(undoArgs, saved) {
		t.Fatalf("undo command %q does not restore %s", undo, saved)
	}
	if out, err := exec.Command(bin, undoArgs[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", undo, err, out)
	}
	if h := diskHash(); h != rotated {
		t.Errorf("after the printed undo command the CA hash on disk is %s, want the rotated %s", h, rotated)
	}
}
