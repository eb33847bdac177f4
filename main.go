// Command k3sca walks a k3s operator through the certificate-authority life
// cycle of a cluster: inspect, generate, validate, hash, load into the
// datastore and rotate. Every subcommand is headless; results go to stdout,
// decoration to stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitRefused = 3
	// exitUnknown: a datastore write whose reply was lost and whose key
	// could not be read back; the error names the command that finds out.
	exitUnknown = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and maps its error to an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newApp(stdout, stderr)
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	code := a.exitCode(err)
	a.closeLog(code)
	return code
}

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// refusedError marks a verdict k3s would refuse (exit 3); its details were printed already.
type refusedError struct{ msg string }

func (e refusedError) Error() string { return e.msg }

// attentionError marks a report that needs the operator's attention (exit 1, already printed).
type attentionError struct{ msg string }

func (e attentionError) Error() string { return e.msg }

// monitorError is a check's verdict in a monitoring convention (exit
// code, already printed).
type monitorError struct {
	code int
	msg  string
}

func (e monitorError) Error() string { return e.msg }

func (a *app) exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var re refusedError
	var ae attentionError
	var me monitorError
	switch {
	case errors.As(err, &me):
		fmt.Fprintln(a.stderr, me.msg)
		return me.code
	case a.nagios:
		// A Nagios plugin that cannot judge says UNKNOWN, on its status line.
		fmt.Fprintln(a.stdout, "CERTIFICATES UNKNOWN - "+err.Error())
		fmt.Fprintln(a.stderr, "error:", err)
		return int(pki.StateUnknown)
	case errors.Is(err, steps.ErrOutcomeUnknown):
		fmt.Fprintln(a.stderr, "outcome unknown:", err)
		return exitUnknown
	case errors.As(err, &re):
		fmt.Fprintln(a.stderr, "refused:", re.msg)
		return exitRefused
	case errors.As(err, &ae):
		fmt.Fprintln(a.stderr, ae.msg)
		return exitFailure
	case errors.As(err, &ue) || isCobraUsage(err):
		fmt.Fprintln(a.stderr, "usage error:", err)
		return exitUsage
	}
	fmt.Fprintln(a.stderr, "error:", err)
	return exitFailure
}
