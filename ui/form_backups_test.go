package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/steps"
)

// TestBackupPicker opens the datastore form on a sandbox with two backups
// and what a killed run left: the field lists all three newest first with
// time, revision, recorded CA hash and status; ↓ chooses the newest, ↓
// again the incomplete one (flagged at once: it cannot be restored), ↑↑
// back to none (empty: only show); tab completes typed text from the
// backups, not from the current dir.
func TestBackupPicker(t *testing.T) {
	specs := steps.Flows()
	at := -1
	for i, sp := range specs {
		if sp.ID == steps.FlowDatastore {
			at = i
		}
	}
	hash := strings.Repeat("ab", 32)
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			_, env, _ := rfSandbox(t)
			dir := steps.BackupDir("data")
			newest := writeTestBackupOf(t, dir, testkit.Now.Add(-time.Hour), 3, hash, steps.FlowRotateCA, string(steps.WriteNone))
			oldest := writeTestBackup(t, dir, testkit.Now.Add(-2*time.Hour), 2, "")
			killed := filepath.Join(dir, fmt.Sprintf(".incomplete-%d-4-99", testkit.Now.Add(-90*time.Minute).Unix()))
			if err := os.MkdirAll(filepath.Join(killed, "tls"), 0o700); err != nil {
				t.Fatal(err)
			}
			// A file in the current dir that tab must not complete to.
			if err := os.WriteFile("17957-notes.json", []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			d := rfStart(t, Config{Env: env, Specs: specs, Sandbox: true, DataDirSource: "--data-dir flag"}, size[0], size[1])
			d.wait("the menu", func(st rfState) bool { return st.kind == "menu" && st.facts > 0 })
			d.key(tea.KeyDown, at)
			d.key(tea.KeyEnter, 1)
			st := d.wait("the backups", func(st rfState) bool { return st.kind == "form" && st.backups == 3 })
			lines := strings.Split(st.view, "\n")
			order := []string{hash[:12] + "  unwritten", "INCOMPLETE", "-             complete"}
			var seen []int
			for _, o := range order {
				for i, l := range lines {
					if strings.Contains(l, o) {
						seen = append(seen, i)
					}
				}
			}
			if len(seen) != 3 || seen[0] > seen[1] || seen[1] > seen[2] {
				t.Errorf("the backups are not listed newest first with hash and status (%v):\n%s", seen, st.view)
			}
			var shots []rfShot
			shots = append(shots, st.shot("listed"))

			d.key(tea.KeyDown, 1)
			d.wait("the newest chosen", func(st rfState) bool { return st.values["restore"] == newest })
			d.key(tea.KeyDown, 1)
			st = d.wait("the incomplete one flagged", func(st rfState) bool {
				return st.values["restore"] == killed && strings.Contains(st.view, "cannot be restored")
			})
			shots = append(shots, st.shot("incomplete-chosen"))
			d.key(tea.KeyUp, 2)
			d.wait("none chosen", func(st rfState) bool {
				return st.values["restore"] == "" && !strings.Contains(st.view, "cannot be restored")
			})

			d.typ("17957")
			d.key(tea.KeyTab, 1)
			d.wait("tab: several match", func(st rfState) bool { return strings.Contains(st.view, "3 backups match") })
			d.key(tea.KeyCtrlU, 1)
			d.typ(fmt.Sprint(testkit.Now.Add(-2 * time.Hour).Unix()))
			d.key(tea.KeyTab, 1)
			st = d.wait("tab: the one that matches", func(st rfState) bool { return st.values["restore"] == oldest })
			if !strings.Contains(st.whole, "backup to restore  "+oldest) {
				t.Errorf("ctrl+o does not print the chosen backup whole:\n%s", st.whole)
			}
			shots = append(shots, st.shot("completed"))
			d.quit()
			checkShots(t, shots, size[0], size[1])
		})
	}
}

// writeTestBackup writes a backup as k3sca lays one out (a folder
// <unix>-<revision> with backup.json) and returns its file.
func writeTestBackup(t *testing.T, dir string, created time.Time, rev int64, caHash string) string {
	return writeTestBackupOf(t, dir, created, rev, caHash, "", "")
}

// writeTestBackupOf is writeTestBackup with the flow that made it and the
// outcome of its write recorded ("" for none).
func writeTestBackupOf(t *testing.T, dir string, created time.Time, rev int64, caHash, flow, write string) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("%d-%d", created.Unix(), rev), steps.BackupFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"key":"/bootstrap/0123456789ab","revision":%d,"value":"salt:dmFsdWU=","created":%q,"via":"sqlite","tlsCopy":"tls","caHash":%q,"flow":%q,"write":%q}`,
		rev, created.UTC().Format(time.RFC3339), caHash, flow, write)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlainListsBackups: the line-by-line wizard prints the backups,
// newest first and whole, before it asks for the one to restore.
func TestPlainListsBackups(t *testing.T) {
	_, env := uiSandbox(t)
	dir := steps.BackupDir("data")
	newest := writeTestBackupOf(t, dir, testkit.Now.Add(-time.Hour), 3, strings.Repeat("cd", 32), steps.FlowLoad, string(steps.WriteDone))
	oldest := writeTestBackup(t, dir, testkit.Now.Add(-2*time.Hour), 2, "")
	spec, _ := steps.FindFlow(steps.Flows(), steps.FlowDatastore)
	var out strings.Builder
	// Choose the flow, then end the input at the backup prompt.
	if err := runPlain(context.Background(), Config{Env: env, Specs: []steps.FlowSpec{spec}}, strings.NewReader("1\n"), &out, testDeps()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	a := strings.Index(got, "rev 3  flow load  CA hash cdcdcdcdcdcd  written  "+newest+"\n")
	b := strings.Index(got, "rev 2  flow -  CA hash -  complete  "+oldest+"\n")
	prompt := strings.Index(got, "backup to restore (optional")
	if a < 0 || b < a || prompt < b {
		t.Errorf("the backups are not listed newest first before the prompt:\n%s", got)
	}
}
