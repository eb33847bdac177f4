package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// ErrStagedIsLive means the staged dir given is the live server dir (or
// inside it, or around it): there is nothing staged to compare or load.
var ErrStagedIsLive = errors.New("the staged dir is the live k3s server dir; stage new files elsewhere (k3sca generate rotation --out DIR --yes)")

// ErrNoStagedTLS means the staged dir holds no tls/ dir: k3s would find
// nothing in it and call the set unchanged.
var ErrNoStagedTLS = errors.New("no tls/ dir in the staged dir")

// CheckStaged refuses a staged dir that is, contains or lies inside the
// live server dir of dataDir, and one without a tls/ dir (the layout
// `k3s certificate rotate-ca --path` reads): given the tls/ dir itself, it
// names its parent. k3s takes such a dir as "no change"; k3sca refuses it,
// since nothing was staged.
func CheckStaged(dataDir, staged string) error {
	server := product.ServerDir(dataDir)
	if fsutil.IsWithin(staged, server) || fsutil.IsWithin(server, staged) {
		return fmt.Errorf("--path %s: %w", staged, ErrStagedIsLive)
	}
	fi, err := os.Stat(staged)
	if err != nil {
		return fmt.Errorf("staged dir %s: %w", staged, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("staged dir %s is not a directory", staged)
	}
	if fi, err := os.Stat(filepath.Join(staged, pki.TLSDir)); err == nil && fi.IsDir() {
		return nil
	}
	if filepath.Base(filepath.Clean(staged)) == pki.TLSDir {
		return fmt.Errorf("%w: %s is the tls/ dir itself; give its parent: %s", ErrNoStagedTLS, staged, filepath.Dir(filepath.Clean(staged)))
	}
	return fmt.Errorf("%w: %s has no tls/ subdir; a staged dir holds tls/server-ca.crt and the rest (k3sca generate rotation --out DIR --yes writes one)", ErrNoStagedTLS, staged)
}

// MaxStagedFileSize is the largest staged file k3sca reads. A CA bundle,
// a CA key and a service.key holding many old keys are a few KiB; together
// the staged files must fit the bootstrap value's datastore.MaxValueSize
// after base64 twice (the JSON, then the encryption), which the load checks.
const MaxStagedFileSize = 256 << 10

// ErrStagedFile refuses a staged file k3sca cannot take as it is: not a
// regular file, empty, over MaxStagedFileSize, or unreadable. It is bad
// input (exit 1), not k3s's verdict on the set.
var ErrStagedFile = errors.New("bad staged file")

// CheckStagedFiles reads every staged rotatable file: a missing one is not
// staged; one that is not a regular file (a FIFO, a directory), empty (k3s
// would silently keep the current file), larger than MaxStagedFileSize or
// unreadable (an I/O error) fails, naming the file.
func CheckStagedFiles(staged string) error {
	for _, f := range pki.BootstrapFields {
		if !f.Rotate {
			continue
		}
		p := f.Abs(staged)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("%w %s: %w", ErrStagedFile, p, err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%w %s: not a regular file (%s); stage the file itself", ErrStagedFile, p, fi.Mode().Type())
		case fi.Size() == 0:
			return fmt.Errorf("%w %s: empty; k3s would take it as not staged and keep the current %s: remove it, or stage its content", ErrStagedFile, p, f.Name)
		case fi.Size() > MaxStagedFileSize:
			return fmt.Errorf("%w %s: %d bytes, the limit is %d (every datastore must accept the bootstrap value)", ErrStagedFile, p, fi.Size(), MaxStagedFileSize)
		}
		if err := readBounded(p); err != nil {
			return fmt.Errorf("%w %s: %w", ErrStagedFile, p, err)
		}
	}
	return nil
}

// readBounded reads a file whole, at most MaxStagedFileSize+1 bytes.
func readBounded(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(f, MaxStagedFileSize+1))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if n > MaxStagedFileSize {
		return fmt.Errorf("grew to more than %d bytes while read", MaxStagedFileSize)
	}
	return nil
}

// Validate checks a staged dir against the live data dir with the engine's
// k3s-exact rules, after refusing the live dir itself as staged dir and
// any staged file CheckStagedFiles refuses.
func Validate(ctx context.Context, p product.Product, dataDir, staged string, force bool, now time.Time) (*pki.Report, error) {
	if err := CheckStaged(dataDir, staged); err != nil {
		return nil, err
	}
	if err := CheckStagedFiles(staged); err != nil {
		return nil, err
	}
	return pki.Validate(ctx, pki.ValidateInput{
		CurrentDir: product.ServerDir(dataDir), StagedDir: staged, Now: now, Force: force, Product: p,
	})
}
