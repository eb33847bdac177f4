package steps

import (
	"fmt"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// DefaultRestartTimeout bounds the wait for k3s to be ready after a start.
const DefaultRestartTimeout = 5 * time.Minute

// FailureDetails is implemented by errors that carry lines for the
// operator beyond their message: what the log says, the state the node is
// in, the ways out. The session keeps them on the failed step.
type FailureDetails interface {
	Details() []string
}

// NotReadyError is a start after which k3s did not come back: why (k3s's
// own log), the state of the datastore and the node, and the ways out, each
// a command.
type NotReadyError struct {
	// Err is the start's or the probe's error.
	Err error
	// Log is the last error and fatal lines of k3s's log.
	Log []string
	// LogCommand shows the log, for the operator to run.
	LogCommand string
	// State says what the datastore and the node hold now.
	State []string
	// FixForward and PutBack are the two ways out, as commands.
	FixForward, PutBack string
}

// Error implements error.
func (e *NotReadyError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *NotReadyError) Unwrap() error { return e.Err }

// Details implements FailureDetails.
func (e *NotReadyError) Details() []string {
	var d []string
	if len(e.Log) > 0 {
		d = append(d, "k3s's log says:")
		d = append(d, e.Log...)
	}
	if e.LogCommand != "" {
		d = append(d, "the whole log:", e.LogCommand)
	}
	d = append(d, e.State...)
	if e.FixForward != "" {
		d = append(d, "fix forward (the listener issues a certificate from the new CA, the token is untouched):", e.FixForward)
	}
	if e.PutBack != "" {
		d = append(d, "or put the backup back and start k3s on the old CAs:", e.PutBack)
	}
	return d
}

// triggerCommand creates the listener's regenerate trigger by hand.
func triggerCommand(trigger string) string {
	return fmt.Sprintf("touch %s && chmod 600 %s", trigger, trigger)
}

// leaveRegenerateTrigger writes the listener's regenerate trigger on this
// server after a datastore write that succeeded (summary sum). A failure
// says what was written and how to create the file by hand.
func leaveRegenerateTrigger(dataDir string, now time.Time, sum string) (string, error) {
	trigger, err := pki.WriteRegenerateTrigger(product.ServerDir(dataDir), now)
	if err != nil {
		return "", fmt.Errorf("%s; but: %w (create it before the restart: %s)", sum, err, triggerCommand(pki.RegenerateTriggerPath(product.ServerDir(dataDir))))
	}
	return trigger, nil
}
