package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// Input configures a throwaway k3s data dir.
type Input struct {
	// DataDir is created; it must not exist or be empty.
	DataDir string
	// Product names CNs and roles.
	Product product.Product
	// Now is the clock for every certificate and timestamp.
	Now time.Time
	// Rand is the randomness for the password (nil: crypto/rand).
	Rand io.Reader
	// NearExpiry makes the CAs 300 days old and issues the admin client
	// certificate then too, so it expires within the 120-day renewal window
	// and the check report has something to say, as on a cluster that has
	// run for a while.
	NearExpiry bool
	// CustomCA, when set, bootstraps the sandbox from a custom root: its
	// CAs are the set generate-custom-ca-certs.sh makes from this input
	// (pki.GenerateCustomCA; an imported root keeps its key with the
	// caller, so a same-root rotation can be staged later), written into
	// the server dir before the first start, as the custom CA flow does,
	// instead of k3s's self-signed CAs.
	CustomCA *pki.CustomCAInput
	// NoKubeconfig leaves out the admin kubeconfig k3s writes at start: a
	// sandbox cluster has no Kubernetes API, and with a kubeconfig the
	// rollout's node-Ready check would wait for one on every node.
	NoKubeconfig bool
}

// nearExpiryAge is the age of a NearExpiry sandbox's CAs and old leaf.
const nearExpiryAge = 300 * 24 * time.Hour

// NearExpiryFile is the leaf certificate a NearExpiry sandbox ages.
const NearExpiryFile = "tls/client-admin.crt"

// Sandbox is a k3s data dir as k3s leaves it after its first start on
// SQLite: default CAs, leaf certs, credentials, token, and the encrypted
// bootstrap data in a real kine state.db.
type Sandbox struct {
	// DataDir is the data dir; ServerDir its server/ folder.
	DataDir, ServerDir string
	// Token is the server token (secret).
	Token pki.Token
	// Key is the bootstrap key in state.db.
	Key string
}

// Create writes a sandbox data dir.
func Create(ctx context.Context, in Input) (*Sandbox, error) {
	if err := fsutil.CheckStagingDir(in.DataDir, "", false); err != nil {
		return nil, err
	}
	server := product.ServerDir(in.DataDir)
	opts := pki.GenOptions{Product: in.Product, Now: in.Now}
	caOpts := opts
	if in.NearExpiry {
		// The cluster first started 300 days ago; its leaf certificates
		// were renewed since, all but one.
		caOpts.Now = in.Now.Add(-nearExpiryAge)
	}
	var (
		cas *pki.StagedSet
		err error
	)
	if in.CustomCA != nil {
		cas, err = pki.GenerateCustomCA(ctx, caOpts, *in.CustomCA)
	} else {
		cas, err = pki.GenerateDefaultCAs(caOpts)
	}
	if err != nil {
		return nil, err
	}
	if err := cas.Write(ctx, server, caOpts.Now); err != nil {
		return nil, err
	}
	leaves, err := pki.GenerateLeafCerts(ctx, opts, server)
	if err != nil {
		return nil, err
	}
	if err := leaves.Write(ctx, server, opts.Now); err != nil {
		return nil, err
	}
	if in.NearExpiry {
		if err := ageLeaf(ctx, opts, server, NearExpiryFile); err != nil {
			return nil, err
		}
	}
	// A server runs an agent too: its certificates, signed by the server.
	if err := writeAgentDir(ctx, opts, in.DataDir, AgentNode); err != nil {
		return nil, err
	}
	// The supervisor listener's serving certificate, cached at first start.
	if _, err := loadServingCert(server, in.Product, in.Now); err != nil {
		return nil, err
	}
	r := in.Rand
	if r == nil {
		r = rand.Reader
	}
	pass, err := randomHex(r, 16)
	if err != nil {
		return nil, err
	}
	psk, err := randomHex(r, 48)
	if err != nil {
		return nil, err
	}
	p := in.Product
	creds := map[string]string{
		"cred/passwd":    fmt.Sprintf("%s,server,server,%s\n%s,node,node,%s\n", pass, p.ServerRole(), pass, p.AgentRole()),
		"cred/ipsec.psk": psk + "\n",
	}
	for rel, content := range creds {
		if err := fsutil.WriteFile(filepath.Join(server, rel), []byte(content), fsutil.ModeSecret, caOpts.Now); err != nil {
			return nil, err
		}
	}
	sb := &Sandbox{DataDir: in.DataDir, ServerDir: server}
	if err := sb.writeToken(in.Now, pass); err != nil {
		return nil, err
	}
	if err := sb.seedDatastore(ctx, pass); err != nil {
		return nil, err
	}
	if err := SetVersion(in.DataDir, in.Product, Version(in.Product), in.Now); err != nil {
		return nil, err
	}
	// k3s writes the admin kubeconfig at the end of its start.
	if !in.NoKubeconfig {
		if err := writeKubeconfig(in.DataDir, in.Product, in.Now); err != nil {
			return nil, err
		}
	}
	if err := markSandbox(in.DataDir, in.Now); err != nil {
		return nil, err
	}
	return sb, nil
}

// markSandbox finishes a sandbox: its service state (stopped) and, last, the
// marker, so that a half-built dir is never taken for a sandbox.
func markSandbox(dataDir string, now time.Time) error {
	if err := writeSandboxState(dataDir, stateInactive, now); err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(dataDir, node.SandboxMarker), []byte("made by k3sca sandbox\n"), fsutil.ModePublic, now); err != nil {
		return fmt.Errorf("mark sandbox: %w", err)
	}
	return nil
}

// ErrDirInUse refuses a --dir that holds something other than a
// sandbox: k3sca never builds a sandbox over someone's files.
var ErrDirInUse = errors.New("holds files that are not a k3sca sandbox; choose a new or empty dir")

// DataDir is the data dir of the sandbox built in root.
func DataDir(root string) string { return filepath.Join(root, "data") }

// InspectRoot says what root holds before a sandbox is built there:
// reopen is true when DataDir(root) is a sandbox built before; a
// missing or empty root takes a new one; anything else is refused (wrapping
// ErrDirInUse), including a sandbox data dir given in place of its
// parent.
func InspectRoot(root string) (reopen bool, err error) {
	fi, err := os.Lstat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sandbox dir: %w", err)
	case !fi.IsDir():
		return false, fmt.Errorf("sandbox dir %s is not a directory", root)
	case node.IsSandbox(DataDir(root)):
		return true, nil
	case node.IsSandbox(root):
		return false, fmt.Errorf("sandbox dir %s is a sandbox data dir itself; give its parent %s: %w",
			root, filepath.Dir(filepath.Clean(root)), ErrDirInUse)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return false, fmt.Errorf("sandbox dir: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("sandbox dir %s %w", root, ErrDirInUse)
	}
	return false, nil
}

// Open reopens a sandbox data dir built before. Its token is read
// from server/token; a sandbox copied from a node without one has none.
func Open(dataDir string) (*Sandbox, error) {
	if !node.IsSandbox(dataDir) {
		return nil, fmt.Errorf("open sandbox %s: %w", dataDir, node.ErrNotSandbox)
	}
	sb := &Sandbox{DataDir: dataDir, ServerDir: product.ServerDir(dataDir)}
	if !fsutil.FileExists(filepath.Join(sb.ServerDir, pki.TokenFile)) {
		return sb, nil
	}
	tok, err := readToken(sb.ServerDir)
	if err != nil {
		return nil, fmt.Errorf("open sandbox %s: %w", dataDir, err)
	}
	sb.Token = tok
	if tok.Password != "" {
		sb.Key = datastore.StorageKey(tok.Password)
	}
	return sb, nil
}

func (sb *Sandbox) writeToken(now time.Time, pass string) error {
	f, _ := pki.Field("ServerCA")
	hash, err := caHash(f.Abs(sb.ServerDir), now)
	if err != nil {
		return err
	}
	sb.Token = pki.Token{CAHash: hash, Username: "server", Password: pass}
	return fsutil.WriteFile(filepath.Join(sb.ServerDir, pki.TokenFile), []byte(sb.Token.String()+"\n"), fsutil.ModeSecret, now)
}

// seedDatastore stores the bootstrap data as k3s does at first start: the
// files with their mtimes, encrypted with the token's password.
func (sb *Sandbox) seedDatastore(ctx context.Context, pass string) error {
	db := filepath.Join(sb.ServerDir, filepath.FromSlash(pki.DatastoreFile))
	if err := datastore.InitKineDB(ctx, db); err != nil {
		return err
	}
	data, err := datastore.ReadFromDisk(ctx, sb.ServerDir)
	if err != nil {
		return err
	}
	plain, err := data.Encode()
	if err != nil {
		return err
	}
	value, err := datastore.Encrypt(pass, plain)
	if err != nil {
		return err
	}
	b, err := datastore.OpenSQLite(ctx, db, 0)
	if err != nil {
		return err
	}
	defer b.Close()
	sb.Key = datastore.StorageKey(pass)
	if _, err := b.Create(ctx, sb.Key, value); err != nil {
		return fmt.Errorf("store bootstrap data: %w", err)
	}
	return nil
}

func randomHex(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ageLeaf re-issues the certificate at rel (and its key) as if issued 300
// days before opts.Now.
func ageLeaf(ctx context.Context, opts pki.GenOptions, server, rel string) error {
	opts.Now = opts.Now.Add(-nearExpiryAge)
	old, err := pki.GenerateLeafCerts(ctx, opts, server)
	if err != nil {
		return err
	}
	stem := strings.TrimSuffix(rel, ".crt")
	var keep []pki.StagedFile
	for _, f := range old.Files {
		if f.Path == stem+".crt" || f.Path == stem+".key" {
			keep = append(keep, f)
		}
	}
	if len(keep) != 2 {
		return fmt.Errorf("sandbox: no %s pair among the leaf certificates", stem)
	}
	old.Files = keep
	return old.Write(ctx, server, opts.Now)
}
