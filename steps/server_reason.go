package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/words"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
)

// ServerRefusal is the server's refusal of a --via server load, with
// k3s's own reason from this node's log beside k3sca's validation.
type ServerRefusal struct {
	// ID is k3s's error ID.
	ID string `json:"errorID"`
	// Reason is k3s's own message for the ID, "" when not found.
	Reason string `json:"reason,omitempty"`
	// Logged is the time k3s logged it; Source where it was found.
	Logged string `json:"logged,omitempty"`
	Source string `json:"source,omitempty"`
	// NotFound says where k3sca looked when Reason is "".
	NotFound string `json:"notFound,omitempty"`
	// Command shows the line on the server.
	Command string `json:"command"`
	// Validation is k3sca's own verdict on the same set, made before the
	// request.
	Validation string `json:"localValidation"`
}

// ServerRefusalError is the error of a refused --via server load.
type ServerRefusalError struct {
	Refusal ServerRefusal
	Err     error
}

func (e *ServerRefusalError) Error() string {
	r := e.Refusal
	s := fmt.Sprintf("the server refused the new CA certificates: certificate error ID %s", r.ID)
	if r.Reason != "" {
		s += fmt.Sprintf("; k3s's reason (%s, %s): %s", r.Source, r.Logged, r.Reason)
	} else {
		s += fmt.Sprintf("; k3s's reason was not found (%s): see it on the server with: %s", r.NotFound, r.Command)
	}
	return s + "; k3sca's own validation: " + r.Validation + "; nothing was written"
}

func (e *ServerRefusalError) Unwrap() error { return e.Err }

// validationVerdict says in one line what k3sca's validation found.
func validationVerdict(rep *pki.Report, force bool) string {
	if rep == nil {
		return "not run"
	}
	switch {
	case rep.Accepted && len(rep.Warnings) == 0:
		return fmt.Sprintf("accepted (%s)", rep.Class)
	case rep.Accepted:
		return fmt.Sprintf("accepted (%s), %s: %s", rep.Class, words.Plural(len(rep.Warnings), "warning"), strings.Join(rep.Warnings, "; "))
	case force:
		return fmt.Sprintf("refused without --force (%s): %s", rep.Class, strings.Join(rep.Errors, "; "))
	}
	return fmt.Sprintf("refused (%s): %s", rep.Class, strings.Join(rep.Errors, "; "))
}

// explainRefusal brings back k3s's reason for a refused PUT when the
// server is this node.
func (l *Load) explainRefusal(ctx context.Context, refused *datastore.ServerRefusedError, err error) error {
	logs := l.in.ServerLogs
	r := ServerRefusal{ID: refused.ID, Command: logs.Command(refused.Unit, "certificate", refused.ID, refused.Sent),
		Validation: validationVerdict(l.plan.Validation, l.in.Force)}
	if !node.IsThisHost(l.in.ServerURL) {
		r.NotFound = "the server " + l.in.ServerURL + " is not this node, whose log holds it"
	} else if m, ferr := logs.Find(ctx, refused.Unit, "certificate", refused.ID, refused.Sent); ferr != nil {
		r.NotFound = ferr.Error()
	} else {
		r.Reason, r.Logged, r.Source = m.Reason, m.Time, m.Source
	}
	return &ServerRefusalError{Refusal: r, Err: err}
}
