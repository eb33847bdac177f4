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
			"(with --force: 0, errors still listed); 1: other errors; 2: usage.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "json")
			if err != nil {
				return err
			}
			if path == "" {
				return usagef("--path is required")
			}
			rep, err := a.validate(cmd, path, force)
			if err != nil {
				return err
			}
			if out == "json" {
				err = writeJSON(a.stdout, toValidateJSON(rep))
			} else {
				err = writeValidateText(a, rep)
			}
			if err != nil {
				return err
			}
			if !rep.OK {
				return refusedError{"k3s would refuse this CA set; use --force only if you mean to replace the root of trust"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "staged dir holding tls/ (what rotate-ca --path takes)")
	cmd.Flags().BoolVar(&force, "force", false, "accept what k3s would only accept with --force")
	addOutputFlag(cmd.Flags(), "text or json")
	return cmd
}

func (a *app) validate(cmd *cobra.Command, path string, force bool) (*pki.Report, error) {
	p, dd, err := a.target()
	if err != nil {
		return nil, err
	}
	return steps.Validate(cmd.Context(), p, dd, path, force, a.now())
}

func toValidateJSON(r *pki.Report) validateJSON {
	return validateJSON{
		OK: r.OK, Errors: nonNil(r.Errors), Warnings: nonNil(r.Warnings), Class: string(r.Class),
		Defaulted: nonNil(r.Defaulted), Hash: hashPairJ{Old: r.Hash.Old, New: r.Hash.New},
	}
}

func writeValidateText(a *app, r *pki.Report) error {
	var b strings.Builder
	verdict := "accepted"
	switch {
	case !r.OK:
		verdict = "REFUSED"
	case !r.Accepted:
		verdict = "accepted only because of --force"
	}
	fmt.Fprintf(&b, "verdict:   %s\n", verdict)
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
