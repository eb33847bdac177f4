package main

import (
	"reflect"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// TestStringsValueAsPflag: the list flags read their arguments, print
// their help and reach viper exactly as pflag's StringSlice and
// StringArray do.
func TestStringsValueAsPflag(t *testing.T) {
	tests := []struct {
		name  string
		array bool
		args  []string
	}{
		{"slice unset", false, nil},
		{"slice one", false, []string{"--x=a"}},
		{"slice csv", false, []string{"--x=a,b"}},
		{"slice repeated", false, []string{"--x=a,b", "--x", "c"}},
		{"slice quoted comma", false, []string{`--x="a,b",c`}},
		{"slice empty", false, []string{"--x="}},
		{"slice short", false, []string{"-s", "a", "-s", "b,c"}},
		{"slice bad csv", false, []string{`--x="a`}},
		{"array unset", true, nil},
		{"array commas kept", true, []string{"--x=a,b", "--x", "c"}},
		{"array empty", true, []string{"--x="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mine, theirs []string
			ours, ref := pflag.NewFlagSet("ours", pflag.ContinueOnError), pflag.NewFlagSet("ref", pflag.ContinueOnError)
			if tt.array {
				stringArrayVar(ours, &mine, "x", "usage")
				ref.StringArrayVar(&theirs, "x", nil, "usage")
				stringArrayVar(ours, new([]string), "s", "short")
				ref.StringArrayVarP(new([]string), "s", "", nil, "short")
			} else {
				stringSliceVarP(ours, &mine, "x", "", "usage")
				ref.StringSliceVar(&theirs, "x", nil, "usage")
				stringSliceVarP(ours, new([]string), "s", "s", "short")
				ref.StringSliceVarP(new([]string), "s", "s", nil, "short")
			}
			errOurs, errRef := ours.Parse(tt.args), ref.Parse(tt.args)
			if (errOurs == nil) != (errRef == nil) {
				t.Fatalf("parse: ours %v, pflag %v", errOurs, errRef)
			}
			if !reflect.DeepEqual(mine, theirs) {
				t.Errorf("value %q, pflag %q", mine, theirs)
			}
			for _, name := range []string{"x", "s"} {
				o, r := ours.Lookup(name), ref.Lookup(name)
				if o.Value.String() != r.Value.String() || o.Value.Type() != r.Value.Type() || o.Changed != r.Changed {
					t.Errorf("--%s: String %q Type %s changed %t; pflag %q %s %t", name, o.Value.String(), o.Value.Type(), o.Changed, r.Value.String(), r.Value.Type(), r.Changed)
				}
				vo, vr := viper.New(), viper.New()
				if err := vo.BindPFlag("k", o); err != nil {
					t.Fatal(err)
				}
				if err := vr.BindPFlag("k", r); err != nil {
					t.Fatal(err)
				}
				if a, b := vo.GetStringSlice("k"), vr.GetStringSlice("k"); !reflect.DeepEqual(a, b) {
					t.Errorf("--%s through viper: %q, pflag %q", name, a, b)
				}
			}
			if o, r := ours.FlagUsages(), ref.FlagUsages(); o != r {
				t.Errorf("help:\n%s\npflag:\n%s", o, r)
			}
		})
	}
}
