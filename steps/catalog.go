package steps

import (
	"context"
	"fmt"
	"strings"
)

// FieldKind says how an input of a flow is entered.
type FieldKind string

// Kinds of flow inputs.
const (
	// FieldPath is a file path (completion from the file system).
	FieldPath FieldKind = "path"
	// FieldDir is a directory path (completion from the file system).
	FieldDir FieldKind = "dir"
	// FieldBackup is a backup of the data dir (ListBackupEntries): the
	// wizard lists them to choose from and completes from them.
	FieldBackup FieldKind = "backup"
	// FieldChoice is one of Choices.
	FieldChoice FieldKind = "choice"
	// FieldList is a comma-separated subset of Choices ("" or "all": all).
	FieldList FieldKind = "list"
	// FieldText is free text.
	FieldText FieldKind = "text"
)

// Field is one input of a flow: a form field in the wizard, a prompt in
// plain mode and a flag (--<Key>) of `k3sca run <flow>`.
type Field struct {
	// Key is the flag name and the key in the values map.
	Key string `json:"key"`
	// Label is the form label.
	Label string `json:"label"`
	// Help is one line under the field and the flag's usage.
	Help string `json:"help"`
	// Kind says how it is entered.
	Kind FieldKind `json:"kind"`
	// Choices are the allowed values of a choice or list field.
	Choices []string `json:"choices,omitempty"`
	// Optional fields may stay empty.
	Optional bool `json:"optional,omitempty"`
	// When, if set, shows the field only when another field has a value:
	// "root=new".
	When string `json:"when,omitempty"`
	// Aliases are older flag spellings, still accepted and marked
	// deprecated on the command line.
	Aliases []string `json:"aliases,omitempty"`
}

// Default is the initial value of a field for env: the generated staging
// dir, the first choice, or "".
type Default func(env Env) string

// FlowSpec is an entry of the menu: a flow, its inputs and how to build it.
type FlowSpec struct {
	// ID names the flow on the command line: k3sca run <ID>.
	ID string `json:"id"`
	// Title is the menu entry.
	Title string `json:"title"`
	// Summary is one line under it.
	Summary string `json:"summary"`
	// Fields are the inputs, in order.
	Fields []Field `json:"fields,omitempty"`
	// Defaults give initial values by field key.
	Defaults map[string]Default `json:"-"`
	// Build makes the flow for env and the input values.
	Build func(ctx context.Context, env Env, values map[string]string) (*Flow, error) `json:"-"`
}

// Visible reports whether f is shown given the other values.
func (f Field) Visible(values map[string]string) bool {
	if f.When == "" {
		return true
	}
	k, v, _ := strings.Cut(f.When, "=")
	return values[k] == v
}

// InitialValues returns the default of every field of s for env.
func (s FlowSpec) InitialValues(env Env) map[string]string {
	env = env.WithDefaults()
	vals := map[string]string{}
	for _, f := range s.Fields {
		switch {
		case s.Defaults[f.Key] != nil:
			vals[f.Key] = s.Defaults[f.Key](env)
		case f.Kind == FieldChoice && len(f.Choices) > 0:
			vals[f.Key] = f.Choices[0]
		}
	}
	return vals
}

// CheckValues reports the first missing or invalid value.
func (s FlowSpec) CheckValues(values map[string]string) error {
	for _, f := range s.Fields {
		if !f.Visible(values) {
			continue
		}
		v := strings.TrimSpace(values[f.Key])
		if v == "" {
			if f.Optional || f.Kind == FieldList {
				continue
			}
			return fmt.Errorf("%s (--%s) is required", f.Label, f.Key)
		}
		switch f.Kind {
		case FieldChoice:
			if !contains(f.Choices, v) {
				return fmt.Errorf("%s (--%s): %q is not one of %s", f.Label, f.Key, v, strings.Join(f.Choices, ", "))
			}
		case FieldList:
			if v == "all" {
				continue
			}
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" && !contains(f.Choices, item) {
					return fmt.Errorf("%s (--%s): unknown %q; known: %s", f.Label, f.Key, item, strings.Join(f.Choices, ", "))
				}
			}
		}
	}
	return nil
}

// FindFlow returns the spec with id.
func FindFlow(specs []FlowSpec, id string) (FlowSpec, bool) {
	for _, s := range specs {
		if s.ID == id {
			return s, true
		}
	}
	return FlowSpec{}, false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// splitList splits a list field's value; "" and "all" give nil (all).
func splitList(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" || v == "all" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
