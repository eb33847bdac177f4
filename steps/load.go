package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// ErrRefused means k3s's validation refuses the staged set and --force was not given.
var ErrRefused = errors.New("k3s would refuse this CA set (use --force only to replace the root of trust)")

// LoadInput configures a Load.
type LoadInput struct {
	// DataDir is the k3s data dir; Staged the dir holding the new tls/.
	DataDir, Staged string
	// Access chooses the datastore path.
	Access AccessInput
	// Token is the raw token; empty reads <data-dir>/server/token.
	Token string
	// ServerURL is the supervisor URL for ViaServer.
	ServerURL string
	// Force loads what k3s would only accept with --force.
	Force bool
	// Flow names the flow running the load, recorded in its backup.
	Flow string
	// DryRun opens the datastore read-only; Run then refuses to write.
	DryRun bool
	// Now is the clock: validation time and the timestamp of every entry written.
	Now time.Time
	// Product names paths and units.
	Product product.Product
	// Revision, when not 0, is the revision the operator saw in the plan
	// (a dry run, the preview before stopping k3s): Prepare refuses when
	// the bootstrap value has moved since, even to a value the load would
	// accept.
	Revision int64
	// Hook, when set, is called at each named point of Run (tests use it to
	// kill the process between backup and verify).
	Hook func(point string)
	// ServerLogs finds k3s's reason for a --via server refusal in this
	// node's log (the zero value: journalctl on PATH, then OpenRC's file).
	ServerLogs node.ServerLogs
	// NodeName names this node in an etcd snapshot's name, as k3s does;
	// "" is the host name in lower case (k3s's default node name).
	NodeName string
}

// LoadPlan is everything Load computed before writing.
type LoadPlan struct {
	// Validation is the engine's verdict on the staged set.
	Validation *pki.Report
	// Access is the chosen datastore path.
	Access Access
	// Key and Revision identify the value that will be replaced.
	Key      string
	Revision int64
	// Changes lists the fields whose content changes.
	Changes []datastore.FieldChange
	// Unstaged are changes to fields that were not staged: this server's
	// file differs from the datastore's and would replace it, as k3s's own
	// rotate-ca does. Usually a sign of running on a server that is behind.
	Unstaged []datastore.FieldChange
	// NewerOnDisk lists files of this server whose mtime is at least 3 s
	// after the load time while their content changes: k3s would refuse to
	// start ("newer than datastore"). A sign of clock skew.
	NewerOnDisk []string
	// Tokens is the CA hash and token before and after.
	Tokens *TokenReport
	// Warnings are facts the operator must read before the load (a token
	// whose CA hash is not this cluster's).
	Warnings []string
	// Copy is the copy of the whole datastore Run takes before the write
	// (an etcd snapshot, a copy of state.db), or none and why.
	Copy *DatastoreCopy

	passphrase string
	current    *Bootstrap
	next       datastore.Bootstrap
	nextPlain  []byte
}

// Load validates a staged set, backs up the bootstrap value, writes the new
// value with one compare-and-swap and verifies it by reading it back.
type Load struct {
	in      LoadInput
	plan    *LoadPlan
	backend datastore.Backend
	api     *datastore.ServerAPI
	result  LoadResult
	refusal error
}

// LoadResult says what Run did.
type LoadResult struct {
	// Backup is the backup file written before the write.
	Backup string
	// NewRevision is the revision of the written value.
	NewRevision int64
	// State says what the datastore holds after Run: the new value (read
	// back, or saved by the server's rotate-ca handler), not, or unknown
	// (the reply was lost and the key could not be read back).
	State WriteState
	// RegenerateTrigger is the listener's regenerate trigger written on
	// this server ("" when the server CA did not change).
	RegenerateTrigger string
	// Copy is the copy of the whole datastore taken before the write, or
	// none and why (nil when Run wrote nothing and took nothing).
	Copy *DatastoreCopy
}

// Wrote reports whether the new value is in the datastore.
func (r LoadResult) Wrote() bool { return r.State == WriteDone }

// NewLoad returns the load step.
func NewLoad(in LoadInput) *Load { return &Load{in: in} }

// Title is the title of its plan.
func (l *Load) Title() string { return "Load the staged CA set into the datastore" }

// Plan is the computed plan after Prepare.
func (l *Load) Plan() *LoadPlan { return l.plan }

// Result is what Run did.
func (l *Load) Result() LoadResult { return l.result }

// Prepare validates, opens the datastore and computes the new value. It
// writes nothing. A refusal returns the plan and an error wrapping ErrRefused.
func (l *Load) Prepare(ctx context.Context) (*LoadPlan, error) {
	if l.plan != nil {
		return l.plan, l.refusal
	}
	server := product.ServerDir(l.in.DataDir)
	rep, err := Validate(ctx, l.in.Product, l.in.DataDir, l.in.Staged, l.in.Force, l.in.Now)
	if err != nil {
		return nil, fmt.Errorf("validate staged set: %w", err)
	}
	plan := &LoadPlan{Validation: rep}
	if !rep.OK {
		l.plan, l.refusal = plan, fmt.Errorf("%w: %w", ErrRefused, rep.Err())
		return plan, l.refusal
	}
	if plan.Tokens, err = Tokens(ctx, l.in.DataDir, l.in.Staged, l.in.Now); err != nil {
		return nil, err
	}
	raw, pass, err := ResolvePassphrase(l.in.DataDir, l.in.Token)
	if err != nil {
		return nil, err
	}
	plan.passphrase = pass
	if tok, err := pki.ParseToken(raw); err == nil && tok.CAHash != "" && tok.CAHash != plan.Tokens.Current.Hash.Hex {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("the token's CA hash %s is not this cluster's (%s): its password opens the datastore, "+
			"but k3s agents and servers joining with this token would refuse the server (token CA hash does not match the Cluster CA certificate hash)",
			tok.CAHash, plan.Tokens.Current.Hash.Hex))
	}
	access := l.in.Access
	access.ReadOnly = l.in.DryRun
	if plan.Access, err = ChooseAccess(ctx, access); err != nil {
		return nil, err
	}
	if plan.Access.Via == ViaServer {
		return l.prepareServer(ctx, plan, raw)
	}
	if err := l.prepareKV(ctx, plan, server); err != nil {
		return nil, err
	}
	l.plan = plan
	return plan, nil
}

func (l *Load) prepareKV(ctx context.Context, plan *LoadPlan, server string) error {
	b, err := plan.Access.Open(ctx, l.in.DryRun)
	if err != nil {
		return fmt.Errorf("open datastore (%s): %w", plan.Access.Via, err)
	}
	cur, err := ReadBootstrap(ctx, b, plan.passphrase)
	if err != nil {
		_ = b.Close()
		return plan.Access.hint(err)
	}
	next, staged, err := datastore.Build(ctx, datastore.BuildInput{CurrentDir: server, StagedDir: l.in.Staged, Now: l.in.Now})
	if err != nil {
		_ = b.Close()
		return fmt.Errorf("build bootstrap data: %w", err)
	}
	if plan.nextPlain, err = next.Encode(); err != nil {
		_ = b.Close()
		return err
	}
	if err := checkValueSize(len(plan.nextPlain)); err != nil {
		_ = b.Close()
		return err
	}
	if l.in.Revision != 0 && cur.KV.ModRevision != l.in.Revision {
		_ = b.Close()
		return fmt.Errorf("%w: %s moved to revision %d since the plan showed revision %d; look at the new plan (--dry-run) and load again",
			ErrConcurrent, cur.KV.Key, cur.KV.ModRevision, l.in.Revision)
	}
	l.backend = b
	node := l.in.NodeName
	if node == "" {
		node = nodeName()
	}
	if plan.Copy, err = planCopy(ctx, plan.Access, b, node, l.in.Now); err != nil {
		_ = b.Close()
		l.backend = nil
		return err
	}
	plan.current, plan.next = cur, next
	plan.Key, plan.Revision = cur.KV.Key, cur.KV.ModRevision
	plan.Changes = cur.Data.Diff(next)
	for _, c := range plan.Changes {
		if !slices.Contains(staged, c.Field) {
			plan.Unstaged = append(plan.Unstaged, c)
		}
	}
	// This server's view at its next start: a changed file whose mtime is 3 s
	// or more after the load time (clock skew) would abort k3s.
	for _, st := range next.CompareDisk(server) {
		if st.Outcome == datastore.OutcomeConflict {
			plan.NewerOnDisk = append(plan.NewerOnDisk, st.Path)
		}
	}
	return nil
}

// checkValueSize refuses a bootstrap value (plaintext of n bytes) whose
// encrypted form is over datastore.MaxValueSize.
func checkValueSize(n int) error {
	if size := datastore.EncryptedSize(n); size > datastore.MaxValueSize {
		return fmt.Errorf("%w: %d bytes encrypted (%d of plaintext), the limit is %d; nothing was written",
			datastore.ErrValueTooLarge, size, n, datastore.MaxValueSize)
	}
	return nil
}

// ServerCAChanges reports whether the load changes the server CA or its
// key, which the supervisor listener's serving certificate is signed by.
func (lp *LoadPlan) ServerCAChanges() bool {
	for _, c := range lp.Changes {
		if c.Field == "ServerCA" || c.Field == "ServerCAKey" {
			return true
		}
	}
	return false
}

// Close releases the datastore connection.
func (l *Load) Close() error {
	if l.backend == nil {
		return nil
	}
	err := l.backend.Close()
	l.backend = nil
	return err
}
