package steps

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestLoadRefusesBadStagedFiles: a staged file k3sca cannot take as it is
// (50 MB of junk after a valid PEM, a FIFO, an empty file, a directory in
// place of a file) is refused before anything is written, naming the file,
// as bad input and not as k3s's refusal.
func TestLoadRefusesBadStagedFiles(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"valid PEM and 50 MB of junk", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(bytes.Repeat([]byte("junk\n"), 10<<20)); err != nil {
				t.Fatal(err)
			}
		}, "the limit is 262144"},
		{"fifo", func(t *testing.T, p string) {
			_ = os.Remove(p)
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"empty", func(t *testing.T, p string) {
			if err := os.Truncate(p, 0); err != nil {
				t.Fatal(err)
			}
		}, "empty"},
		{"directory", func(t *testing.T, p string) {
			_ = os.Remove(p)
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			stage := sandboxtest.Stage(t, sb)
			bad := pki.ServerCAPath(stage)
			tt.make(t, bad)
			before := testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
			l := NewLoad(stInput(sb, stage, ViaSQLite))
			defer l.Close()
			_, err := l.Run(context.Background())
			if !errors.Is(err, ErrStagedFile) || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load: %v; want ErrStagedFile naming %s and %q, not a refusal", err, bad, tt.want)
			}
			if testkit.DumpSQLite(t, sandboxtest.DBPath(sb)) != before {
				t.Error("the datastore changed")
			}
			if _, err := os.Stat(BackupDir(sb.DataDir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a backup was written: %v", err)
			}
		})
	}
}

// TestLoadRefusesTooLargeValue: staged files each under the file limit
// that together make a bootstrap value over datastore.MaxValueSize (which
// etcd and kine refuse) are refused on every path before anything is
// written, with the size and the limit.
func TestLoadRefusesTooLargeValue(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	for _, f := range pki.BootstrapFields {
		if !f.Rotate || !strings.HasSuffix(f.Name, "CA") {
			continue
		}
		file, err := os.OpenFile(f.Abs(stage), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = file.Write(bytes.Repeat([]byte("junk\n"), (MaxStagedFileSize-8<<10)/5))
		file.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	before := testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
	l := NewLoad(stInput(sb, stage, ViaSQLite))
	defer l.Close()
	_, err := l.Run(context.Background())
	if !errors.Is(err, datastore.ErrValueTooLarge) || !strings.Contains(err.Error(), "the limit is 1048576") {
		t.Fatalf("load: %v, want ErrValueTooLarge with the limit", err)
	}
	if testkit.DumpSQLite(t, sandboxtest.DBPath(sb)) != before {
		t.Error("the datastore changed")
	}
	if _, err := os.Stat(filepath.Join(BackupDir(sb.DataDir))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a backup was written: %v", err)
	}
}
