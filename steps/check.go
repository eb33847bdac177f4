package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// CheckInput configures Check.
type CheckInput struct {
	// DataDir is the k3s data dir; Services limits the leaf services (empty: all).
	DataDir  string
	Services []string
	// Product names files and services.
	Product product.Product
	// Now is the clock; Window the renewal window (k3s: 120 days).
	Now    time.Time
	Window time.Duration
}

// Check inventories the CA and leaf certificates of a data dir with their
// expiry status, like `k3s certificate check`.
func Check(ctx context.Context, in CheckInput) (*pki.Inventory, error) {
	return pki.Inspect(ctx, pki.InspectOptions{
		DataDir: in.DataDir, Services: in.Services, Now: in.Now, RenewWindow: in.Window, Product: in.Product,
	})
}

// datastoreCAsTask reads the CA bundles of the datastore's bootstrap data
// into the report of the check before it (inv), read-only. A datastore it
// cannot read is a note, never a failure: the files were checked anyway.
// read is the read the check step started ahead (startDatastoreCAs), nil
// when it did not: the step then reads the datastore itself.
func (r *run) datastoreCAsTask(inv func() *pki.Inventory, read func() *datastoreCAs) *Task {
	return &Task{
		ID:    "datastore",
		Title: "CA certificates in the datastore",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			in := inv()
			if in == nil {
				return &Outcome{Summary: "no report to compare with"}, nil
			}
			d := read()
			if d == nil {
				d = startDatastoreCAs(ctx, r.env)
			}
			content, via, err := d.wait(ctx)
			if err != nil {
				in.DatastoreNote = "not read: " + err.Error()
				return &Outcome{Summary: "not read; the CA files were checked without it", Warnings: []string{in.DatastoreNote}}, nil
			}
			in.AddDatastoreCAs(content, product.ServerDir(r.env.DataDir), r.env.Now(), r.env.Window)
			out := &Outcome{Summary: fmt.Sprintf("%d CA certificates read from the datastore (%s); every CA file matches it", len(in.Datastore), via)}
			if len(in.DatastoreDiffers) > 0 {
				out.Summary = fmt.Sprintf("%d CA certificates read from the datastore (%s); %d CA files differ from it", len(in.Datastore), via, len(in.DatastoreDiffers))
				for _, p := range in.DatastoreDiffers {
					out.Warnings = append(out.Warnings, p+" differs from the datastore's copy: k3s replaces it at its next start, or refuses to start when the file is newer")
				}
			}
			if in.DatastoreNote != "" {
				out.Warnings = append(out.Warnings, in.DatastoreNote)
			}
			return out, nil
		},
	}
}

// datastoreCAs is a read of the datastore's CA bundles running in its own
// goroutine: the check step starts it before it inspects the files, so
// that the datastore (opening it, decrypting the bootstrap data) is read
// while the files are.
type datastoreCAs struct {
	done    chan struct{}
	cancel  context.CancelFunc
	content map[string][]byte
	via     Via
	err     error
}

// startDatastoreCAs starts reading the datastore's CA bundles (readDatastoreCAs).
func startDatastoreCAs(ctx context.Context, env Env) *datastoreCAs {
	ctx, cancel := context.WithCancel(ctx)
	d := &datastoreCAs{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(d.done)
		d.content, d.via, d.err = readDatastoreCAs(ctx, env)
	}()
	return d
}

// wait returns what the read found, once it ended; a ctx done first
// cancels the read and returns ctx's error.
func (d *datastoreCAs) wait(ctx context.Context) (map[string][]byte, Via, error) {
	select {
	case <-d.done:
	case <-ctx.Done():
		d.stop()
		return nil, d.via, ctx.Err()
	}
	d.cancel()
	return d.content, d.via, d.err
}

// stop cancels the read and waits for its end (a check that failed).
func (d *datastoreCAs) stop() {
	d.cancel()
	<-d.done
}

// readDatastoreCAs opens the datastore read-only with the node's token and
// returns the CA bundles of its bootstrap data, by field.
func readDatastoreCAs(ctx context.Context, env Env) (map[string][]byte, Via, error) {
	server := product.ServerDir(env.DataDir)
	if !fsutil.DirExists(server) {
		return nil, "", errors.New("an agent has no datastore")
	}
	_, pass, err := ResolvePassphrase(env.DataDir, env.Token)
	if err != nil {
		return nil, "", err
	}
	in := env.access()
	in.ReadOnly = true
	acc, err := ChooseAccess(ctx, in)
	if err != nil {
		return nil, "", err
	}
	b, err := acc.Open(ctx, true)
	if err != nil {
		return nil, acc.Via, fmt.Errorf("open datastore (%s): %w", acc.Via, err)
	}
	defer b.Close()
	cur, err := ReadBootstrap(ctx, b, pass)
	if err != nil {
		return nil, acc.Via, err
	}
	content := map[string][]byte{}
	for _, ca := range pki.CATypes {
		if e, ok := cur.Data[ca.Field]; ok {
			content[ca.Field] = e.Content
		}
	}
	return content, acc.Via, nil
}
