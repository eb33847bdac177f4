package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// errNoReconciler: a start found no bootstrap data to reconcile against.
var errNoReconciler = errors.New("no bootstrap data to reconcile against")

// RestartReport says what a simulated restart changed.
type RestartReport struct {
	// Updated lists the bootstrap fields written from the datastore.
	Updated []string
	// Leaves is how many leaf files were re-issued.
	Leaves int
	// Token is the rewritten server token (secret).
	Token pki.Token
	// AgentFiles is how many of the agent's files were issued again.
	AgentFiles int
	// ServingRegenerated says the listener issued a new serving
	// certificate (the regenerate trigger, a missing cache or expiry).
	ServingRegenerated bool
}

// SimulateRestart does to a sandbox what a k3s server start does to its
// data dir: reconcile the bootstrap files from the datastore (spec 4.4:
// datastore wins unless a differing file is at least 3 s newer on disk,
// which aborts), re-issue the leaf certificates when a CA changed, rewrite
// server/token with the CA hash of the new server CA, load or issue the
// supervisor listener's serving certificate (tls/dynamic-cert.json, renewed
// only on tls/dynamic-cert-regenerate, a missing cache or expiry) and run
// k3s's own check of that listener against the /cacerts bundle, which fails
// when the certificate is signed by a CA the bundle does not hold. Every
// outcome is logged to the sandbox's k3s log (Services.Logs).
func SimulateRestart(ctx context.Context, dataDir string, p product.Product, now time.Time) (*RestartReport, error) {
	rep, lst, err := simulateStart(ctx, dataDir, p, now, nil)
	_ = lst.Close()
	return rep, err
}

// sandboxStore opens the datastore a sandbox server starts on; nil is
// kine over server/db/state.db.
type sandboxStore func(ctx context.Context, server string) (datastore.Backend, error)

// sqliteStore opens server/db/state.db, as kine does for k3s.
func sqliteStore(ctx context.Context, server string) (datastore.Backend, error) {
	return datastore.OpenSQLite(ctx, filepath.Join(server, filepath.FromSlash(pki.DatastoreFile)), 0)
}

// etcdStore is an etcd the sandbox server runs on, as a k3s server on
// embedded etcd reads its bootstrap data from etcd at start.
func etcdStore(cfg datastore.EtcdConfig) sandboxStore {
	return func(ctx context.Context, _ string) (datastore.Backend, error) { return datastore.OpenEtcd(ctx, cfg) }
}

// simulateStart is SimulateRestart on the datastore store (nil: state.db),
// leaving the sandbox's supervisor listener running on 127.0.0.1 for the
// caller to close.
func simulateStart(ctx context.Context, dataDir string, p product.Product, now time.Time, store sandboxStore) (*RestartReport, *supervisorListener, error) {
	if store == nil {
		store = sqliteStore
	}
	rep, lst, err := reconcileAndListen(ctx, dataDir, p, now, store)
	if node.IsSandbox(dataDir) {
		if err != nil {
			appendSandboxLog(dataDir, now, "fatal", err.Error())
		} else {
			appendSandboxLog(dataDir, now, "info", "k3s is up and running")
		}
	}
	return rep, lst, err
}

func reconcileAndListen(ctx context.Context, dataDir string, p product.Product, now time.Time, store sandboxStore) (*RestartReport, *supervisorListener, error) {
	rep, err := reconcile(ctx, dataDir, p, now, store)
	if err != nil {
		return nil, nil, err
	}
	server := product.ServerDir(dataDir)
	sc, err := loadServingCert(server, p, now)
	if err != nil {
		return nil, nil, err
	}
	rep.ServingRegenerated = sc.regenerated
	bundle, err := os.ReadFile(pki.ServerCAPath(server))
	if err != nil {
		return nil, nil, err
	}
	lst, err := startSupervisor(sc.tls, bundle)
	if err != nil {
		return nil, nil, err
	}
	if err := lst.checkCACerts(ctx, bundle, now); err != nil {
		_ = lst.Close()
		return nil, nil, err
	}
	// The server's own agent then gets its certificates from the supervisor.
	if rep.AgentFiles, err = reissueMissingAgentCerts(ctx, pki.GenOptions{Product: p, Now: now}, dataDir, AgentNode); err != nil {
		_ = lst.Close()
		return nil, nil, err
	}
	return rep, lst, nil
}

// reconcile is the datastore side of a start: files, leaves, token.
func reconcile(ctx context.Context, dataDir string, p product.Product, now time.Time, store sandboxStore) (*RestartReport, error) {
	server := product.ServerDir(dataDir)
	if !node.IsSandbox(dataDir) {
		return nil, fmt.Errorf("%s: %w", dataDir, node.ErrNotSandbox)
	}
	tok, err := readToken(server)
	if err != nil {
		return nil, err
	}
	db, err := store(ctx, server)
	if err != nil {
		return nil, err
	}
	data, err := readBootstrap(ctx, db, tok.Password)
	_ = db.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoReconciler, err)
	}
	rep := &RestartReport{}
	var conflicts []string
	for _, st := range data.CompareDisk(server) {
		switch st.Outcome {
		case datastore.OutcomeConflict:
			conflicts = append(conflicts, st.Path)
		case datastore.OutcomeDatastoreWins:
			rep.Updated = append(rep.Updated, st.Field)
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%s %w", strings.Join(conflicts, ", "), node.ErrNewerOnDisk)
	}
	if len(rep.Updated) > 0 {
		if err := data.WriteToDisk(ctx, server); err != nil {
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
	hash, err := caHash(pki.ServerCAPath(server), now)
	if err != nil {
		return nil, err
	}
	rep.Token = tok.WithCAHash(hash)
	if err := fsutil.WriteFile(filepath.Join(server, pki.TokenFile), []byte(rep.Token.String()+"\n"), fsutil.ModeSecret, now); err != nil {
		return nil, err
	}
	// k3s rewrites the admin kubeconfig at every start (a sandbox built
	// without one, a sandbox cluster's node, stays without).
	if fsutil.FileExists(filepath.Join(node.SandboxRoot(dataDir, p), filepath.FromSlash(p.AdminKubeconfig()))) {
		if err := writeKubeconfig(dataDir, p, now); err != nil {
			return nil, err
		}
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

// readBootstrap reads the bootstrap data the way a k3s server does at
// start: the key the token's password names, decrypted with it.
func readBootstrap(ctx context.Context, db datastore.Backend, pass string) (datastore.Bootstrap, error) {
	kv, err := db.Get(ctx, datastore.StorageKey(pass))
	if err != nil {
		return datastore.Bootstrap{}, fmt.Errorf("get %s: %w", datastore.StorageKey(pass), err)
	}
	if len(kv.Value) == 0 {
		return datastore.Bootstrap{}, fmt.Errorf("%s is an empty lock: a server is initializing", kv.Key)
	}
	plain, err := datastore.Decrypt(pass, kv.Value)
	if err != nil {
		return datastore.Bootstrap{}, fmt.Errorf("decrypt %s: %w", kv.Key, err)
	}
	data, err := datastore.DecodeBootstrap(plain)
	if err != nil {
		return datastore.Bootstrap{}, fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	return data, nil
}

// readToken reads server/token as k3s does: trailing newlines stripped.
func readToken(server string) (pki.Token, error) {
	b, err := os.ReadFile(filepath.Join(server, pki.TokenFile))
	if err != nil {
		return pki.Token{}, fmt.Errorf("read server token: %w", err)
	}
	t, err := pki.ParseToken(string(bytes.TrimRight(b, "\n")))
	if err != nil {
		return pki.Token{}, fmt.Errorf("parse server token: %w", err)
	}
	return t, nil
}

// caHash is the CA hash of the server CA bundle at path, the hash a k3s
// server puts in its token.
func caHash(path string, now time.Time) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read server CA: %w", err)
	}
	h, err := pki.HashCA(b, now)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return h.Hex, nil
}
