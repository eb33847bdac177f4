package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
)

// prepareServer builds the body `k3s certificate rotate-ca` would PUT: the
// staged rotatable files only (the server defaults the rest), PasswdFile and
// IPSECKey empty, every timestamp the time of the load.
func (l *Load) prepareServer(ctx context.Context, plan *LoadPlan, raw string) (*LoadPlan, error) {
	tok, err := pki.ParseToken(raw)
	if err != nil {
		return nil, err
	}
	body := datastore.Bootstrap{}
	for _, f := range pki.BootstrapFields {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch {
		case f.Name == "PasswdFile" || f.Name == "IPSECKey":
			body[f.Name] = datastore.Entry{Timestamp: l.in.Now, Content: []byte{}}
		case f.Rotate:
			b, err := os.ReadFile(f.Abs(l.in.Staged))
			if err != nil || len(b) == 0 {
				continue
			}
			body[f.Name] = datastore.Entry{Timestamp: l.in.Now, Content: b}
		}
	}
	if plan.nextPlain, err = body.Encode(); err != nil {
		return nil, err
	}
	if err := checkValueSize(len(plan.nextPlain)); err != nil {
		return nil, err
	}
	plan.next = body
	now := l.in.Now
	l.api = &datastore.ServerAPI{URL: l.in.ServerURL, Token: tok, Product: l.in.Product, Timeout: l.in.Access.Timeout, Now: func() time.Time { return now }}
	if _, err := l.api.FetchCACerts(ctx); err != nil {
		return nil, fmt.Errorf("reach %s: %w", l.in.ServerURL, err)
	}
	l.plan = plan
	return plan, nil
}

func (l *Load) runServer(ctx context.Context) (string, error) {
	l.hook("before-put")
	if err := l.api.PutCACerts(ctx, l.plan.nextPlain, l.in.Force); err != nil {
		var op *net.OpError
		if errors.Is(err, datastore.ErrUnreachable) && !(errors.As(err, &op) && op.Op == "dial") {
			// The request may have reached the server, which saves before it answers.
			l.result.State = WriteUnknown
			return "", &UnknownOutcomeError{Key: l.in.ServerURL + l.in.Product.CACertsPath(), Write: err,
				Read: errors.New("the server API has no read back"), Check: l.serverCheckCommand()}
		}
		var refused *datastore.ServerRefusedError
		if errors.As(err, &refused) {
			return "", l.explainRefusal(ctx, refused, err)
		}
		return "", err
	}
	l.result.State = WriteDone
	return fmt.Sprintf("certificates saved to datastore through %s; restart the servers one at a time", l.in.ServerURL), nil
}

// serverCheckCommand tells whether a PUT whose reply was lost was saved:
// the datastore's ServerCA then hashes like the staged one.
func (l *Load) serverCheckCommand() string {
	sum := sha256.Sum256(l.plan.next["ServerCA"].Content)
	return fmt.Sprintf("k3sca datastore show -d %s on a server of the cluster (the ServerCA field's SHA256 starts with %s when it was saved)",
		l.in.DataDir, hex.EncodeToString(sum[:8]))
}
