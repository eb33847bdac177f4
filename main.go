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
	"strings"
	"syscall"

	"github.com/spf13/cobra"

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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and maps its error to an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newApp(stdout, stderr)
	return a.execute(ctx, a.commandTree(args), args)
}

// execute runs root on args with a's output and returns the exit code,
// after closing the log.
func (a *app) execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	// Read from the words themselves, so that a command line cobra cannot
	// parse still exits as the Nagios plugin it was asked to be.
	a.nagios = nagiosAsked(root, args)
	err := root.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A signal ended the command: say which ("hangup signal received").
		err = fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	code := a.exitCode(err)
	a.closeLog(code)
	return code
}

// nagiosAsked reports whether args run a command that takes --exit-codes
// (check, run check) with --exit-codes nagios, the last one winning as
// pflag reads it. It reads the raw words: a Nagios plugin must exit 3
// (UNKNOWN) on any failure to run, an unknown flag or a bad value too,
// which cobra reports before the command's own code sees its flags.
func nagiosAsked(root *cobra.Command, args []string) bool {
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Flags().Lookup("exit-codes") == nil {
		return false
	}
	nagios := false
	for i, w := range args {
		if w == "--" {
			break
		}
		if v, ok := strings.CutPrefix(w, "--exit-codes="); ok {
			nagios = v == exitCodesNagios
		} else if w == "--exit-codes" && i+1 < len(args) {
			nagios = args[i+1] == exitCodesNagios
		}
	}
	return nagios
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
