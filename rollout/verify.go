package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/cluster"
)

// Verifier is a health check of a node once it shows the new CA: node
// Ready in the Kubernetes API (KubeReady), etcd member health (EtcdHealth).
type Verifier interface {
	// Name is what it checks: "node Ready", "etcd member health".
	Name() string
	// Verify returns nil when the node passes; ErrNotApplicable when the
	// check does not apply to it; an error wrapping ErrUnreachable when
	// what it asks does not answer; a *NotCheckedError when it cannot be
	// checked; any other error when it was checked and failed.
	Verify(ctx context.Context, probe *cluster.ProbeResult) error
}

// ErrNotApplicable is a check that does not apply to a node (etcd health
// on a server without embedded etcd): it is left out of the report.
var ErrNotApplicable = errors.New("does not apply to this node")

// ErrUnreachable is a check whose service did not answer. The rollout
// retries it for Options.ReachWait, then reports it not checked.
var ErrUnreachable = errors.New("does not answer")

// NotCheckedError is a check that could not be made, and why. It is
// never reported as passed.
type NotCheckedError struct{ Why string }

// Error implements error.
func (e *NotCheckedError) Error() string { return "not checked (" + e.Why + ")" }

// notChecked is a *NotCheckedError.
func notChecked(format string, args ...any) error {
	return &NotCheckedError{Why: fmt.Sprintf(format, args...)}
}

// Results of a check.
const (
	ResultOK         = "ok"
	ResultNotChecked = "not checked"
	ResultFailed     = "failed"
)

// Verification is the outcome of one Verifier on a node.
type Verification struct {
	// Check is the verifier's name; Result ok, not checked or failed.
	Check  string `json:"check"`
	Result string `json:"result"`
	// Detail says why it was not checked or how it failed.
	Detail string `json:"detail,omitempty"`
}

// String is "node Ready: ok", "etcd member health: not checked (why)".
func (v Verification) String() string {
	if v.Detail == "" {
		return v.Check + ": " + v.Result
	}
	return fmt.Sprintf("%s: %s (%s)", v.Check, v.Result, v.Detail)
}

// verify runs m's verifiers in order. With poll, a failing check is
// retried until opts.Timeout and an unreachable one until opts.ReachWait
// (then it is not checked); without (a dry run) each runs once. The error
// is the first check that failed.
func verify(ctx context.Context, m Member, probe *cluster.ProbeResult, opts Options, poll bool) ([]Verification, error) {
	var out []Verification
	for _, v := range m.Verify {
		res, ok := verifyOne(ctx, v, probe, opts, poll)
		if !ok {
			continue
		}
		out = append(out, res)
		if res.Result == ResultFailed {
			return out, fmt.Errorf("%s: %s", res.Check, res.Detail)
		}
	}
	return out, nil
}

// verifyOne runs one verifier; ok is false when it does not apply.
func verifyOne(ctx context.Context, v Verifier, probe *cluster.ProbeResult, opts Options, poll bool) (Verification, bool) {
	start := time.Now()
	res := Verification{Check: v.Name()}
	for {
		err := v.Verify(ctx, probe)
		var nc *NotCheckedError
		switch {
		case err == nil:
			res.Result, res.Detail = ResultOK, ""
			return res, true
		case errors.Is(err, ErrNotApplicable):
			return res, false
		case errors.As(err, &nc):
			res.Result, res.Detail = ResultNotChecked, nc.Why
			return res, true
		case errors.Is(err, ErrUnreachable):
			res.Result, res.Detail = ResultNotChecked, err.Error()
			if !poll || time.Since(start) >= opts.ReachWait {
				return res, true
			}
		default:
			res.Result, res.Detail = ResultFailed, err.Error()
			if !poll || time.Since(start) >= opts.Timeout {
				return res, true
			}
		}
		select {
		case <-ctx.Done():
			res.Detail += "; " + ctx.Err().Error()
			return res, true
		case <-time.After(opts.Poll):
		}
	}
}
