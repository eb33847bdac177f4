package steps

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BackupEntry is one line of the backup listing: a complete backup, or
// what a killed run left (not restorable).
type BackupEntry struct {
	// Path is what to restore: the backup's file; for an incomplete
	// backup, the folder or file left behind.
	Path string `json:"file"`
	// Created and Revision come from the backup, or from the name of an
	// incomplete one (<unix>-<revision>); zero when unknown.
	Created  time.Time `json:"created"`
	Revision int64     `json:"revision"`
	// Key and Via are the backup's bootstrap key and the backend it was
	// read from ("" for an incomplete one).
	Key string `json:"key,omitempty"`
	Via string `json:"via,omitempty"`
	// CAHash is the CA hash the backup recorded ("": not recorded).
	CAHash string `json:"caHash,omitempty"`
	// Flow and Write are the flow that made the backup and what became of
	// its write (see Backup); "" when not recorded.
	Flow  string     `json:"flow,omitempty"`
	Write WriteState `json:"write,omitempty"`
	// Incomplete marks what a killed run left: not a backup.
	Incomplete bool `json:"incomplete"`
	// Backup is the backup's whole record (nil for an incomplete one).
	Backup *Backup `json:"-"`
}

// ListBackupEntries lists the backups of a data dir, complete and
// incomplete, newest first (an incomplete one whose name holds no time
// last): what `datastore backups` prints and the wizard's restore picker
// offers.
func ListBackupEntries(dataDir string) ([]BackupEntry, error) {
	list, err := ListBackups(dataDir)
	if err != nil {
		return nil, err
	}
	left, err := IncompleteBackups(dataDir)
	if err != nil {
		return nil, err
	}
	var out []BackupEntry
	for _, b := range list {
		out = append(out, BackupEntry{Path: b.Path, Created: b.Created, Revision: b.Revision, Key: b.Key, Via: b.Via, CAHash: b.CAHash, Flow: b.Flow, Write: b.Write, Backup: b})
	}
	for _, p := range left {
		e := BackupEntry{Path: p, Incomplete: true}
		e.Created, e.Revision = nameStamp(filepath.Base(p))
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) }) // ties: as ListBackups has them
	return out, nil
}

// nameStamp reads the time and revision a backup's name starts with
// ("<unix>-<revision>", after an ".incomplete-" prefix); zero when it
// holds none.
func nameStamp(name string) (time.Time, int64) {
	parts := strings.Split(strings.TrimPrefix(name, incompletePrefix), "-")
	if len(parts) < 2 {
		return time.Time{}, 0
	}
	sec, err1 := strconv.ParseInt(parts[0], 10, 64)
	rev, err2 := strconv.ParseInt(strings.TrimSuffix(parts[1], ".json"), 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0
	}
	return time.Unix(sec, 0).UTC(), rev
}

// Status is a backup's state in one word or two: INCOMPLETE (what a
// killed run left), the outcome of the write it preceded when recorded
// ("written", "unwritten", "unknown": see WriteState), else "complete".
func (e BackupEntry) Status() string {
	switch {
	case e.Incomplete:
		return "INCOMPLETE"
	case e.Write == WriteDone:
		return "written"
	case e.Write == WriteNone:
		return "unwritten"
	case e.Write == WriteUnknown:
		return "unknown"
	}
	return "complete"
}
