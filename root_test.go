package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestCommandTreeNames: each entry of subcommands builds the command it
// is named for, so commandTree finds the command cobra would run, and
// rootCommand has them all (cobra lists them sorted).
func TestCommandTreeNames(t *testing.T) {
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	var names []string
	for _, sub := range a.subcommands() {
		cmd := sub.build()
		if cmd.Name() != sub.name || len(cmd.Aliases) > 0 {
			t.Errorf("subcommand %q builds %q (aliases %v)", sub.name, cmd.Name(), cmd.Aliases)
		}
		names = append(names, sub.name)
	}
	var full []string
	for _, c := range a.rootCommand().Commands() {
		full = append(full, c.Name())
	}
	slices.Sort(names)
	if !slices.Equal(names, full) {
		t.Errorf("rootCommand has %v, subcommands %v", full, names)
	}
}

// TestFirstWord: the subcommand's name is read past the root's flags and
// their values, as cobra's Find reads it.
func TestFirstWord(t *testing.T) {
	root := newApp(&bytes.Buffer{}, &bytes.Buffer{}).rootOnly()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"check", "-d", "x"}, "check"},
		{[]string{"-d", "/data", "check"}, "check"},
		{[]string{"--data-dir", "/data", "validate", "--path", "p"}, "validate"},
		{[]string{"--data-dir=/data", "token"}, "token"},
		{[]string{"--dry-run", "run", "check"}, "run"},
		{[]string{"--plain"}, ""},
		{[]string{"-d", "check"}, ""},
		{[]string{"--", "check"}, ""},
		{[]string{"--unknown", "v", "check"}, "check"},
		{[]string{"help", "check"}, "help"},
	} {
		if got := firstWord(root, tt.args); got != tt.want {
			t.Errorf("firstWord(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// TestCommandTreeHelp: the tree built for one command answers --help,
// help, completion and errors as the whole tree does, and the root's
// --help, help and shell completion list every command.
func TestCommandTreeHelp(t *testing.T) {
	out := func(full bool, args ...string) (string, int) {
		var b bytes.Buffer
		a := newApp(&b, &b)
		a.home = func() (string, error) { return t.TempDir(), nil }
		root := a.commandTree(args)
		if full {
			root = a.rootCommand()
		}
		code := a.execute(context.Background(), root, args)
		return b.String(), code
	}
	cases := [][]string{
		{"--help"}, {"help"}, {"help", "check"}, {"check", "--help"}, {"-d", "/x", "validate", "-h"},
		{"generate", "--help"}, {"generate", "rotation", "--help"}, {"run", "--help"}, {"run", "check", "--help"},
		{"datastore", "restore", "--help"}, {"sandbox", "--help"}, {"wizard", "--help"},
		{"chek"}, {"check", "--no-such-flag"}, {"__complete", ""}, {"__complete", "ru"}, {"completion", "bash"},
	}
	for _, args := range cases {
		want, wantCode := out(true, args...)
		got, code := out(false, args...)
		if got != want || code != wantCode {
			t.Errorf("%q: tree for the command says (exit %d)\n%s\nthe whole tree (exit %d)\n%s", args, code, got, wantCode, want)
		}
	}
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, args := range [][]string{{"--help"}, {"help"}, {"__complete", ""}} {
		got, _ := out(false, args...)
		for _, sub := range a.subcommands() {
			if !strings.Contains(got, sub.name) {
				t.Errorf("%q does not list %s:\n%s", args, sub.name, got)
			}
		}
	}
}
