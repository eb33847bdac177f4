package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// sandboxMarker marks a data dir made by CreateSandbox; only such a dir may
// get a simulated restart.
const sandboxMarker = ".k3sca-sandbox"

// Errors of the simulated restart.
var (
	ErrNotSandbox   = errors.New("not a k3sca sandbox data dir; a simulated restart never touches a real k3s data dir")
	ErrNewerOnDisk  = errors.New("newer than datastore and could cause a cluster outage. Remove the file(s) from disk and restart to be recreated from datastore")
	errNoReconciler = errors.New("no bootstrap data to reconcile against")
)

// IsSandbox reports whether dataDir was made by CreateSandbox.
func IsSandbox(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, sandboxMarker))
	return err == nil
}

// RestartReport says what a simulated restart changed.
type RestartReport struct {
	// Updated lists the bootstrap fields written from the datastore.
	Updated []string
	// Leaves is how many leaf files were re-issued.
	Leaves int
	// Token is the rewritten server token (secret).
	Token pki.Token
}

// SimulateRestart does to a sandbox what a k3s server start does to its
// data dir: reconcile the bootstrap files from the datastore (spec 4.4:
// datastore wins unless a differing file is at least 3 s newer on disk,
// which aborts), re-issue the leaf certificates when a CA changed, and
// rewrite server/token with the CA hash of the new server CA.
func SimulateRestart(ctx context.Context, dataDir string, p product.Product, now time.Time) (*RestartReport, error) {
	server := product.ServerDir(dataDir)
	if !IsSandbox(dataDir) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrNotSandbox)
	}
	tok, err := ReadServerToken(server)
	if err != nil {
		return nil, err
	}
	db, err := datastore.OpenSQLite(ctx, filepath.Join(server, filepath.FromSlash(pki.DatastoreFile)))
	if err != nil {
		return nil, err
	}
	cur, err := ReadBootstrap(ctx, db, tok.Password)
	_ = db.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoReconciler, err)
	}
	rep := &RestartReport{}
	var conflicts []string
	for _, st := range cur.Data.CompareDisk(server) {
		switch st.Outcome {
		case datastore.OutcomeConflict:
			conflicts = append(conflicts, st.Path)
		case datastore.OutcomeDatastoreWins:
			rep.Updated = append(rep.Updated, st.Field)
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%s %w", strings.Join(conflicts, ", "), ErrNewerOnDisk)
	}
	if len(rep.Updated) > 0 {
		if err := cur.Data.WriteToDisk(ctx, server); err != nil {
			return nil, err
		}
	}
	leaves, err := pki.GenerateLeafCerts(ctx, pki.GenOptions{Product: p, Now: now}, server)
	if err != nil {
		return nil, err
	}
	if len(rep.Updated) == 0 {
		// No CA changed: k3s issues only the certificates that are missing
		// (a leaf rotation removed them), each with a new key.
		leaves.Files = missingLeaves(server, leaves.Files)
	}
	if err := leaves.Write(ctx, server, now); err != nil {
		return nil, err
	}
	rep.Leaves = len(leaves.Files)
	_ = os.Remove(filepath.Join(server, filepath.FromSlash(pki.DynamicCertRegenerate)))
	st, err := hashState(pki.ServerCAPath(server), &tok, now)
	if err != nil {
		return nil, err
	}
	rep.Token = *st.Token
	if err := fsutil.WriteFile(filepath.Join(server, pki.TokenFile), []byte(rep.Token.String()+"\n"), fsutil.ModeSecret, now); err != nil {
		return nil, err
	}
	return rep, nil
}

// missingLeaves keeps the files of a leaf set whose certificate or key is
// missing on disk: both of a pair are issued again together.
func missingLeaves(server string, files []pki.StagedFile) []pki.StagedFile {
	stem := func(p string) string { return strings.TrimSuffix(p, filepath.Ext(p)) }
	missing := map[string]bool{}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(server, filepath.FromSlash(f.Path))); err != nil {
			missing[stem(f.Path)] = true
		}
	}
	var out []pki.StagedFile
	for _, f := range files {
		if missing[stem(f.Path)] {
			out = append(out, f)
		}
	}
	return out
}
