package steps

// Tasks several flows share that stage and check a set: generate,
// validate, and the tokens it brings.

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/k3sca/k3sca/pki"
)

// generateTask stages gen's set. A dry run writes it to a private temp dir
// instead, so validation and the load preview read the same files.
func (r *run) generateTask(in GenerateInput) *Task {
	r.gen = NewGenerate(in)
	r.staged = in.Out
	return &Task{
		ID:      "generate",
		Title:   fmt.Sprintf("Generate the new %s set into %s", in.Kind, displayOut(in)),
		Writes:  true,
		Preview: r.gen.Preview,
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("writing the staged files")
			sum, err := r.gen.Run(ctx)
			if err != nil {
				return nil, err
			}
			r.generated, r.wroteSet = !in.Initial, true
			out := &Outcome{Summary: sum, Details: r.gen.Set().NotesFor(false)}
			if in.Initial {
				// Its key notes were in the plan; the last step lists the keys.
				out.Details = nil
			}
			return out, nil
		},
		DryRun: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			if _, err := r.gen.Preview(ctx); err != nil {
				return nil, err
			}
			tmp, err := privateTempDir(r.env.ScratchRoot)
			if err != nil {
				return nil, err
			}
			r.tmp, r.staged = tmp, tmp
			progress("staging in a private scratch dir for the checks that follow")
			if err := r.gen.Set().Write(ctx, tmp, r.env.Now()); err != nil {
				return nil, fmt.Errorf("dry run scratch copy: %w", err)
			}
			return &Outcome{Summary: fmt.Sprintf("dry run: %d files would be written to %s (checked from a private scratch copy, removed at the end)", len(r.gen.Set().Files), in.Out)}, nil
		},
	}
}

func displayOut(in GenerateInput) string {
	if in.Initial {
		return filepath.Join(in.Out, pki.TLSDir)
	}
	return in.Out
}

// validateTask validates the staged set as k3s's rotate-ca does. allowNew
// accepts a refusal whose only cause is a new root of trust (forced).
func (r *run) validateTask(current func() string, allowNew bool) *Task {
	return &Task{
		ID:    "validate",
		Title: "Validate the staged set as k3s would",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			var (
				rep *pki.Report
				err error
			)
			cur := current()
			validate := func(force bool) (*pki.Report, error) {
				if cur == "" {
					return Validate(ctx, r.env.Product, r.env.DataDir, r.staged, force, r.env.Now())
				}
				return pki.Validate(ctx, pki.ValidateInput{CurrentDir: cur, StagedDir: r.staged, Now: r.env.Now(), Product: r.env.Product, Force: force})
			}
			if rep, err = validate(false); err != nil {
				return nil, err
			}
			if !rep.OK && (r.forceAll || allowNew && rep.Class == pki.ClassNewRoot) {
				// The operator chose --force or a new root: the report is
				// k3s's verdict with --force, its errors kept.
				if rep, err = validate(true); err != nil {
					return nil, err
				}
			}
			// Kept even when refused: the report says why.
			r.report = rep
			out := &Outcome{Data: rep, Warnings: rep.Warnings}
			switch {
			case cur != "" && rep.Accepted:
				// Checked against itself (before the first start): k3s's
				// verdict and class of a rotation do not apply.
				out.Summary = "the set is consistent: every CA matches its key and chains to its root, as k3s checks"
				out.Warnings, out.Data = nil, nil
			case rep.Accepted:
				out.Summary = fmt.Sprintf("k3s accepts it: %s", rep.Class)
			case allowNew && rep.Class == pki.ClassNewRoot:
				r.force = true
				out.Summary = pki.VerdictForced + ": a new root of trust"
				out.Warnings = append([]string{"Every node and every client that trusts the old CA loses trust until it gets the new CA and token."}, out.Warnings...)
			case r.forceAll && rep.OK:
				out.Summary = fmt.Sprintf("%s: %s", pki.VerdictForced, rep.Class)
			case rep.Class == pki.ClassNewRoot:
				return nil, fmt.Errorf("%w: %v; this set has a new root of trust: choose a new root (disruptive) to load it with --force", ErrRefused, rep.Err())
			default:
				return nil, fmt.Errorf("%w: %v", ErrRefused, rep.Err())
			}
			return out, nil
		},
	}
}

// tokenTask shows the CA hash before and after, and the full new token.
func (r *run) tokenTask() *Task {
	return &Task{
		ID:    "token",
		Title: "Show the new join-token CA hash",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			rep, err := Tokens(ctx, r.env.DataDir, r.staged, r.env.Now())
			if err != nil {
				return nil, err
			}
			r.tokens = rep
			return tokenOutcome(rep, r.env.Token), nil
		},
	}
}

func tokenOutcome(rep *TokenReport, given string) *Outcome {
	out := &Outcome{}
	old, nw := rep.Current.Hash.Hex, rep.Current.Hash.Hex
	if rep.New != nil {
		nw = rep.New.Hash.Hex
	}
	if old == nw {
		out.Summary = "the CA hash does not change: tokens stay valid"
	} else {
		out.Summary = "the CA hash changes: nodes joining with a full token need the new one"
	}
	out.Details = []string{"current CA hash: " + old, "new CA hash:     " + nw}
	out.Data = map[string]string{"currentHash": old, "newHash": nw}
	st := rep.Current
	if rep.New != nil {
		st = *rep.New
	}
	tok := st.Token
	if tok == nil && given != "" {
		if t, err := pki.ParseToken(given); err == nil {
			t = t.WithCAHash(st.Hash.Hex)
			tok = &t
		}
	}
	if tok != nil {
		out.Secret = []string{"new token: " + tok.String()}
		out.Masked = []string{"new token: " + tok.Masked()}
	}
	return out
}
