package main

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/spf13/pflag"
)

// stringsValue is the value of a list flag with an empty default, as
// pflag's StringSlice ("a,b" is read as CSV, a repeated flag appends) or,
// with array set, as its StringArray (each flag is one element). Type,
// String and the pflag.SliceValue methods are pflag's, so viper and cobra
// read it as they read pflag's own. It exists for start-up: pflag writes a
// new slice flag's default text with an encoding/csv writer and its 4 KiB
// buffer, and k3sca registers about sixty of them at every start.
type stringsValue struct {
	p       *[]string
	array   bool
	changed bool
}

var _ pflag.SliceValue = (*stringsValue)(nil)

// stringSliceVarP defines a StringSlice flag with an empty default.
func stringSliceVarP(fs *pflag.FlagSet, p *[]string, name, short, usage string) {
	addStrings(fs, &stringsValue{p: p}, name, short, usage)
}

// stringArrayVar defines a StringArray flag with an empty default.
func stringArrayVar(fs *pflag.FlagSet, p *[]string, name, usage string) {
	addStrings(fs, &stringsValue{p: p, array: true}, name, "", usage)
}

func addStrings(fs *pflag.FlagSet, v *stringsValue, name, short, usage string) {
	*v.p = nil
	f := fs.VarPF(v, name, short, usage)
	// pflag's help omits an empty list's default ("[]") only for its own
	// types.
	f.DefValue = ""
}

func (s *stringsValue) Set(val string) error {
	v := []string{val}
	if !s.array {
		var err error
		if v, err = readCSV(val); err != nil {
			return err
		}
	}
	if s.changed {
		v = append(*s.p, v...)
	}
	*s.p, s.changed = v, true
	return nil
}

func (s *stringsValue) Type() string {
	if s.array {
		return "stringArray"
	}
	return "stringSlice"
}

func (s *stringsValue) String() string {
	if len(*s.p) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(*s.p)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// Append, Replace and GetSlice implement pflag.SliceValue.
func (s *stringsValue) Append(val string) error {
	*s.p = append(*s.p, val)
	return nil
}

func (s *stringsValue) Replace(val []string) error {
	*s.p = val
	return nil
}

func (s *stringsValue) GetSlice() []string { return *s.p }

// readCSV is pflag's reading of a StringSlice argument: one CSV record.
func readCSV(val string) ([]string, error) {
	if val == "" {
		return []string{}, nil
	}
	return csv.NewReader(strings.NewReader(val)).Read()
}
