package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/k3sca/k3sca/fsutil"
)

// ErrUnsafePath refuses a staged path that would escape the output root.
var ErrUnsafePath = errors.New("staged path is not a local relative path")

// StagedFile is one file a generator wants written.
type StagedFile struct {
	// Path is slash-separated and relative to the output root, e.g. "tls/server-ca.crt".
	Path string
	// Data is the exact file content.
	Data []byte
	// Mode is the file mode: 0600 for keys, 0644 for certificates.
	Mode fs.FileMode
	// Secret marks private keys; their content is never shown.
	Secret bool
	// Purpose is one line for the preview.
	Purpose string
}

// StagedSet is the complete output of one generator, held in memory until Write.
type StagedSet struct {
	// Kind names the generator, e.g. "default-ca", "custom-ca", "rotation".
	Kind string
	// Files are written in this order.
	Files []StagedFile
	// Notes is operator guidance, e.g. to move ca/root-ca.key offline.
	Notes []string
	// RotationNotes is guidance that applies only when the set replaces
	// the CAs of a cluster that has started: the restart, the new token
	// hash, rotate-ca's verdict.
	RotationNotes []string
}

// NotesFor is the guidance for a set written before the cluster's first
// start (initial: no rotation notes) or staged for a rotation (all).
func (s *StagedSet) NotesFor(initial bool) []string {
	if initial {
		return s.Notes
	}
	return append(slices.Clone(s.Notes), s.RotationNotes...)
}

// CertSummary is what a preview shows of one certificate.
type CertSummary struct {
	// Subject is the subject CN.
	Subject string
	// Issuer is the issuer CN.
	Issuer string
	// NotAfter is the expiry.
	NotAfter time.Time
	// IsCA is the BasicConstraints CA flag.
	IsCA bool
}

// PlannedFile is what a dry run prints for one staged file.
type PlannedFile struct {
	// Path is the slash-separated path relative to the output root.
	Path string
	// Mode is the file mode that Write will set.
	Mode fs.FileMode
	// Size is the content length in bytes.
	Size int
	// Certs summarizes the certificates of a non-secret PEM file, in file order.
	Certs []CertSummary
	// Secret marks private keys.
	Secret bool
	// Purpose is the staged file's purpose line.
	Purpose string
}

// File returns the staged file with the given slash-separated path.
func (s *StagedSet) File(p string) (StagedFile, bool) {
	for _, f := range s.Files {
		if f.Path == p {
			return f, true
		}
	}
	return StagedFile{}, false
}

// Preview describes every file without writing anything.
func (s *StagedSet) Preview() []PlannedFile {
	out := make([]PlannedFile, 0, len(s.Files))
	for _, f := range s.Files {
		pf := PlannedFile{Path: f.Path, Mode: f.Mode, Size: len(f.Data), Secret: f.Secret, Purpose: f.Purpose}
		if !f.Secret {
			certs, _ := ParseCertsPEM(f.Data)
			for _, c := range certs {
				pf.Certs = append(pf.Certs, CertSummary{
					Subject: c.Subject.CommonName, Issuer: c.Issuer.CommonName, NotAfter: c.NotAfter, IsCA: c.IsCA,
				})
			}
		}
		out = append(out, pf)
	}
	return out
}

// Write writes every file under root through fsutil.WriteFiles (each
// atomic, with its mode; keys are always 0600; mtime from the caller's
// clock; synced concurrently, renamed in order). It refuses paths that leave
// root and symlinks below root before writing anything, and writes nothing
// when ctx is cancelled before the files are renamed into place.
func (s *StagedSet) Write(ctx context.Context, root string, mtime time.Time) error {
	files := make([]fsutil.File, 0, len(s.Files))
	for _, f := range s.Files {
		if !stagedPathOK(f.Path) {
			return fmt.Errorf("write %q: %w", f.Path, ErrUnsafePath)
		}
		if err := refuseSymlinkDirs(root, f.Path); err != nil {
			return err
		}
		mode := f.Mode
		if f.Secret {
			mode = fsutil.ModeSecret
		}
		files = append(files, fsutil.File{Path: filepath.Join(root, filepath.FromSlash(f.Path)), Data: f.Data, Mode: mode, Mtime: mtime})
	}
	if err := fsutil.WriteFiles(ctx, files); err != nil {
		return fmt.Errorf("write staged files: %w", err)
	}
	return nil
}

func stagedPathOK(p string) bool {
	return p != "" && !strings.Contains(p, `\`) && path.Clean(p) == p && filepath.IsLocal(filepath.FromSlash(p))
}

// refuseSymlinkDirs fails when a directory between root and the file is a symlink.
func refuseSymlinkDirs(root, rel string) error {
	dir := root
	parts := strings.Split(rel, "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", dir, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("write %s: %s: %w", rel, dir, fsutil.ErrSymlink)
		}
	}
	return nil
}

func (s *StagedSet) addCerts(p, purpose string, certs ...*x509.Certificate) {
	var data []byte
	for _, c := range certs {
		data = append(data, EncodeCert(c)...)
	}
	s.Files = append(s.Files, StagedFile{Path: p, Data: data, Mode: fsutil.ModePublic, Purpose: purpose})
}

func (s *StagedSet) addKeys(p, purpose string, keys ...crypto.Signer) error {
	var data []byte
	for _, k := range keys {
		b, err := EncodeKey(k)
		if err != nil {
			return fmt.Errorf("encode %s: %w", p, err)
		}
		data = append(data, b...)
	}
	s.addSecret(p, purpose, data)
	return nil
}

func (s *StagedSet) addSecret(p, purpose string, data []byte) {
	s.Files = append(s.Files, StagedFile{Path: p, Data: data, Mode: fsutil.ModeSecret, Secret: true, Purpose: purpose})
}

// ServerCAHash is k3s's join-token CA hash (HashCA at now) of the staged
// tls/server-ca.crt; ok is false when the set has no server CA bundle.
func (s *StagedSet) ServerCAHash(now time.Time) (h CAHash, ok bool, err error) {
	f, found := s.File(serverCAPath)
	if !found {
		return CAHash{}, false, nil
	}
	h, err = HashCA(f.Data, now)
	return h, true, err
}

// serverCAPath is the server CA bundle, relative to the server dir.
const serverCAPath = "tls/server-ca.crt"

// noteServerCAHash adds the token CA hash that k3s will compute for the new bundle.
func (s *StagedSet) noteServerCAHash(now time.Time) {
	h, ok, err := s.ServerCAHash(now)
	if !ok || err != nil {
		return
	}
	s.RotationNotes = append(s.RotationNotes, fmt.Sprintf("After the restart, k3s's join-token CA hash is %s (%s); tokens are K10%s::<user>:<password>.", h.Hex, h.Method, h.Hex))
}
