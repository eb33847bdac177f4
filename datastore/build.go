package datastore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/k3sca/k3sca/pki"
)

// SystemTimeSkew is k3s's tolerance in reconciliation (§4.4): a differing
// disk file whose mtime is at least this many whole seconds after the
// datastore timestamp is "newer on disk" and aborts the server's start.
const SystemTimeSkew = 3

// BuildInput says which files make up a new bootstrap value.
type BuildInput struct {
	// CurrentDir is the server dir (D = <data-dir>/server) of this server.
	CurrentDir string
	// StagedDir holds the new CA files under tls/ (rotate-ca's --path);
	// "" builds from the current files only.
	StagedDir string
	// Now is the time of the load; every entry is stamped with it.
	Now time.Time
}

// Build assembles the bootstrap value that k3s's `certificate rotate-ca`
// client plus the server's cacerts handler would store (spec §7.2, §8):
// for every bootstrap field, a rotatable field comes from the staged file
// when that exists and is non-empty, else from the current file; PasswdFile,
// IPSECKey, EncryptionConfig and EncryptionHash always come from the current
// server dir. A field whose chosen file is missing is omitted, as
// ReadFromDisk omits it. The second result lists the fields taken from the
// staged dir, in k3s's struct order.
//
// Unlike k3s, which keeps file mtimes, the Timestamp of EVERY entry is
// in.Now, the time of the load. Each server, at its next start, then sees
// every datastore entry as newer than (or within the 3 s skew of) its own
// files, so a differing file is updated from the datastore instead of
// aborting the start with "newer than datastore" (§4.4). in.Now must
// therefore be the real current time and not be zero; a zero Now is an error.
//
// EncryptionConfig and EncryptionHash are included when their files exist
// in the server dir, which is how k3s's --secrets-encryption shows on disk.
func Build(ctx context.Context, in BuildInput) (Bootstrap, []string, error) {
	if in.Now.IsZero() {
		return nil, nil, errors.New("build bootstrap data: the load time is zero; every entry would look older than the disk")
	}
	out := Bootstrap{}
	var staged []string
	for _, f := range pki.BootstrapFields {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("build bootstrap data: %w", err)
		}
		if in.StagedDir != "" && f.Rotate {
			content, ok, err := readIfPresent(f.Abs(in.StagedDir))
			if err != nil {
				return nil, nil, fmt.Errorf("build bootstrap data: %s: %w", f.Name, err)
			}
			if ok && len(content) > 0 {
				out[f.Name] = Entry{Timestamp: in.Now, Content: content}
				staged = append(staged, f.Name)
				continue
			}
		}
		content, ok, err := readIfPresent(f.Abs(in.CurrentDir))
		if err != nil {
			return nil, nil, fmt.Errorf("build bootstrap data: %s: %w", f.Name, err)
		}
		if ok {
			out[f.Name] = Entry{Timestamp: in.Now, Content: content}
		}
	}
	return out, staged, nil
}

// readIfPresent reads path; a missing file is (nil, false, nil). An empty
// file yields a non-nil empty slice, which encodes as "" like k3s's.
func readIfPresent(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, true, nil
}

// ReadFromDisk reads the bootstrap files of a server dir as k3s's
// bootstrap.ReadFromDisk does: every present file with its mtime as the
// Timestamp; missing files are omitted. This is what k3s itself stores.
func ReadFromDisk(ctx context.Context, serverDir string) (Bootstrap, error) {
	out := Bootstrap{}
	for _, f := range pki.BootstrapFields {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read bootstrap files: %w", err)
		}
		p := f.Abs(serverDir)
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read bootstrap files: %w", err)
		}
		content, ok, err := readIfPresent(p)
		if err != nil {
			return nil, fmt.Errorf("read bootstrap files: %w", err)
		}
		if ok {
			out[f.Name] = Entry{Timestamp: fi.ModTime(), Content: content}
		}
	}
	return out, nil
}

// DiskState compares one datastore entry with the file on disk.
type DiskState string

const (
	// DiskEqual: the file's bytes equal the entry's content.
	DiskEqual DiskState = "equal"
	// DiskDiffers: the file exists with other bytes.
	DiskDiffers DiskState = "differs"
	// DiskMissing: the file does not exist.
	DiskMissing DiskState = "missing"
	// DiskUnknownField: the entry's key has no known path; k3s skips it.
	DiskUnknownField DiskState = "unknown-field"
	// DiskError: the file could not be read.
	DiskError DiskState = "error"
)

// Outcome is what k3s would do with one entry at its next start (§4.4).
type Outcome string

const (
	// OutcomeNone: nothing to do.
	OutcomeNone Outcome = "no action"
	// OutcomeDatastoreWins: the file is (re)written from the datastore.
	OutcomeDatastoreWins Outcome = "datastore wins"
	// OutcomeConflict: the differing file is >= 3 s newer than the entry; k3s aborts.
	OutcomeConflict Outcome = "conflict: newer on disk, k3s aborts"
)

// DiskStatus is the comparison of one bootstrap entry with the disk.
type DiskStatus struct {
	// Field is the bootstrap field name.
	Field string
	// Path is the absolute file path ("" for an unknown field).
	Path string
	// State is equal, differs, missing, unknown-field or error.
	State DiskState
	// Outcome is what k3s would do at its next start.
	Outcome Outcome
	// DiskMtime is the file's mtime, zero when missing.
	DiskMtime time.Time
	// Timestamp is the entry's datastore timestamp.
	Timestamp time.Time
	// Err is set for DiskError.
	Err error
}

// CompareDisk compares every entry of b (a datastore value) with the files
// in serverDir and predicts k3s's reconciliation (§4.4): equal bytes need
// nothing (timestamps ignored); a missing file, or differing bytes whose
// mtime is less than 3 whole seconds after the entry's Timestamp, are taken
// from the datastore; differing bytes at least 3 s newer on disk are a
// conflict that makes k3s abort. When cred, tls or tls/etcd is missing or
// empty, k3s writes every entry without comparing, so every entry is
// "datastore wins". Entries come in pki.BootstrapFields order, then unknown
// keys sorted.
func (b Bootstrap) CompareDisk(serverDir string) []DiskStatus {
	emptyDirs := certDirsEmpty(serverDir)
	var out []DiskStatus
	for _, f := range pki.BootstrapFields {
		e, ok := b[f.Name]
		if !ok {
			continue
		}
		st := compareFile(f.Name, f.Abs(serverDir), e)
		if emptyDirs && st.State != DiskError {
			st.Outcome = OutcomeDatastoreWins
		}
		out = append(out, st)
	}
	for _, k := range sortedKeys(b) {
		if _, known := pki.Field(k); !known {
			out = append(out, DiskStatus{Field: k, State: DiskUnknownField, Outcome: OutcomeNone, Timestamp: b[k].Timestamp})
		}
	}
	return out
}

func compareFile(name, path string, e Entry) DiskStatus {
	st := DiskStatus{Field: name, Path: path, Timestamp: e.Timestamp}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		st.State, st.Outcome = DiskMissing, OutcomeDatastoreWins
		return st
	}
	var content []byte
	if err == nil {
		content, err = os.ReadFile(path)
	}
	if err != nil {
		st.State, st.Outcome, st.Err = DiskError, OutcomeNone, err
		return st
	}
	st.DiskMtime = fi.ModTime()
	switch {
	case bytes.Equal(content, e.Content):
		st.State, st.Outcome = DiskEqual, OutcomeNone
	case st.DiskMtime.Unix()-e.Timestamp.Unix() >= SystemTimeSkew:
		st.State, st.Outcome = DiskDiffers, OutcomeConflict
	default:
		st.State, st.Outcome = DiskDiffers, OutcomeDatastoreWins
	}
	return st
}

// certDirsEmpty mirrors k3s's checkCertDirs: true when cred, tls or
// tls/etcd under serverDir is missing or has no entries.
func certDirsEmpty(serverDir string) bool {
	for _, d := range []string{"cred", "tls", filepath.Join("tls", "etcd")} {
		entries, err := os.ReadDir(filepath.Join(serverDir, d))
		if err != nil || len(entries) == 0 {
			return true
		}
	}
	return false
}

func sortedKeys(b Bootstrap) []string {
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
