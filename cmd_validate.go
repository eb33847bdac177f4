package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// validateJSON is the stable JSON contract of `k3sca validate -o json`.
type validateJSON struct {
	OK        bool      `json:"ok"`
	Errors    []string  `json:"errors"`
	Warnings  []string  `json:"warnings"`
	Class     string    `json:"class"`
	Defaulted []string  `json:"defaulted"`
	Hash      hashPairJ `json:"hash"`
	// Flow is the report of the flow that validated, as `k3sca run`
	// prints it (steps, status, declined, undone).
	Flow *steps.Report `json:"flow,omitempty"`
}

type hashPairJ struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *app) validateCommand() *cobra.Command {
	var path string
	var force bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a staged CA set exactly as `k3s certificate rotate-ca` would, plus extra checks",
		Long: "Applies k3s's rotate-ca validation (defaulting, chain, key pair, service key)\n" +
			"to the staged dir --path (holding tls/) against the current files in\n" +
			"<data-dir>/server/tls. Exit 0: k3s would accept it; 3: k3s would refuse it\n" +
			"(with --force: 0, errors still listed); 1: other errors; 2: usage.\n" +
			"It is the validate step of the CA flows of `k3sca run`, on the same engine.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "json")
			if err != nil {
				return err
			}
			if path == "" {
				return usagef("--path is required")
			}
			env, err := a.commandEnv(cmd, "k3sca validate", false)
			if err != nil {
				return err
			}
			c, err := steps.ValidateCommand(env, path, force)
			if err != nil {
				return err
			}
			rep, runErr := a.runSingle(cmd.Context(), c, confirmFlags{}, out)
			v := c.Validation()
			if v == nil {
				// The validation did not run to a verdict (unreadable input).
				return flowExit(runErr)
			}
			if out == "json" {
				j := toValidateJSON(v)
				j.Flow = &rep
				err = writeJSON(a.stdout, j)
			} else {
				err = writeValidateText(a, v)
			}
			if err != nil {
				return err
			}
			return flowExit(runErr)
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "staged dir holding tls/ (what rotate-ca --path takes)")
	cmd.Flags().BoolVar(&force, "force", false, "accept what k3s would only accept with --force")
	addOutputFlag(cmd.Flags(), "text or json")
	return cmd
}

func toValidateJSON(r *pki.Report) validateJSON {
	return validateJSON{
		OK: r.OK, Errors: nonNil(r.Errors), Warnings: nonNil(r.Warnings), Class: string(r.Class),
		Defaulted: nonNil(r.Defaulted), Hash: hashPairJ{Old: r.Hash.Old, New: r.Hash.New},
	}
}

func writeValidateText(a *app, r *pki.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict:   %s\n", r.Verdict())
	fmt.Fprintf(&b, "class:     %s (%s)\n", r.Class, r.Class.Explain())
	fmt.Fprintf(&b, "hash:      %s -> %s\n", r.Hash.Old, r.Hash.New)
	if len(r.Defaulted) > 0 {
		fmt.Fprintf(&b, "defaulted: %s\n", strings.Join(r.Defaulted, ", "))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error:     %s\n", e)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning:   %s\n", w)
	}
	_, err := fmt.Fprint(a.stdout, b.String())
	return err
}
