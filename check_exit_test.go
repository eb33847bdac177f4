package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestCheckExitCodes pins the exit codes of check and run check: the
// default 0/1 of scripts, the Nagios plugin codes and --exit-zero. The
// sandbox's certificates were issued a day before the pinned clock: its
// 17 service-file leaves and the kubeconfig's admin certificate expire in
// 364 days, its CAs in about ten years.
func TestCheckExitCodes(t *testing.T) {
	sb := sandboxtest.New(t)
	dd := sb.DataDir
	tests := []struct {
		name string
		args []string
		code int
		// line is the start of the first stdout line ("": not checked).
		line string
	}{
		{"default ok", []string{"-d", dd}, 0, ""},
		{"default attention", []string{"-d", dd, "--renew-days", "400"}, 1, ""},
		{"default exit-zero", []string{"-d", dd, "--renew-days", "400", "--exit-zero"}, 0, ""},
		{"default unknown service", []string{"-d", dd, "-s", "nope"}, 2, ""},
		{"nagios ok", []string{"-d", dd, "--exit-codes", "nagios"}, 0, "CERTIFICATES OK - 49 certificates"},
		{"nagios warning", []string{"-d", dd, "--exit-codes", "nagios", "--warn-days", "365"}, 1, "CERTIFICATES WARNING - 49 certificates, 18 expiring within 365 days"},
		{"nagios critical", []string{"-d", dd, "--exit-codes", "nagios", "--warn-days", "400", "--crit-days", "365"}, 2, "CERTIFICATES CRITICAL - 49 certificates, 18 expired"},
		{"nagios critical exit-zero", []string{"-d", dd, "--exit-codes", "nagios", "--warn-days", "400", "--crit-days", "365", "--exit-zero"}, 0, "CERTIFICATES CRITICAL"},
		{"nagios renew window ignored", []string{"-d", dd, "--exit-codes", "nagios", "--renew-days", "400"}, 0, "CERTIFICATES OK"},
		{"nagios nothing found", []string{"-d", t.TempDir(), "--exit-codes", "nagios"}, 3, "CERTIFICATES UNKNOWN - 0 certificates found"},
		{"nagios bad thresholds", []string{"-d", dd, "--exit-codes", "nagios", "--warn-days", "7", "--crit-days", "14"}, 3, "CERTIFICATES UNKNOWN - --warn-days 7"},
		{"nagios error", []string{"-d", dd, "--exit-codes", "nagios", "-s", "nope"}, 3, "CERTIFICATES UNKNOWN - service nope is not recognized"},
		{"nagios error exit-zero", []string{"-d", dd, "--exit-codes", "nagios", "-s", "nope", "--exit-zero"}, 3, "CERTIFICATES UNKNOWN"},
		// A command line cobra cannot parse is a failure to run: UNKNOWN
		// in nagios mode, wherever the flag stands; usage (2) otherwise.
		{"default unknown flag", []string{"-d", dd, "--bogus"}, 2, ""},
		{"nagios unknown flag", []string{"-d", dd, "--exit-codes", "nagios", "--bogus"}, 3, "CERTIFICATES UNKNOWN - unknown flag: --bogus"},
		{"nagios unknown flag before it", []string{"--bogus", "-d", dd, "--exit-codes=nagios"}, 3, "CERTIFICATES UNKNOWN - unknown flag: --bogus"},
		{"nagios bad number", []string{"-d", dd, "--exit-codes", "nagios", "--warn-days", "soon"}, 3, "CERTIFICATES UNKNOWN - invalid argument"},
		{"nagios flag without value", []string{"--exit-codes", "nagios", "-d"}, 3, "CERTIFICATES UNKNOWN - flag needs an argument"},
		{"nagios extra argument", []string{"-d", dd, "--exit-codes", "nagios", "extra"}, 3, "CERTIFICATES UNKNOWN"},
		{"nagios then default", []string{"-d", dd, "--exit-codes", "nagios", "--exit-codes", "default", "--bogus"}, 2, ""},
		{"nagios after --", []string{"-d", dd, "--", "--exit-codes", "nagios"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runAt(t, append([]string{"check"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", r.code, tc.code, r.stdout, r.stderr)
			}
			first, _, _ := strings.Cut(r.stdout, "\n")
			if tc.line != "" && !strings.HasPrefix(first, tc.line) {
				t.Errorf("first line %q, want it to start with %q", first, tc.line)
			}
		})
	}
	// run check exits alike: the same flags, the same mapping.
	for _, tc := range tests {
		if strings.Contains(strings.Join(tc.args, " "), "-s ") || tc.name == "nagios nothing found" {
			continue // --service is check's; an empty dir is a different flow input
		}
		t.Run("run "+tc.name, func(t *testing.T) {
			if r := runAt(t, append([]string{"run", "check"}, tc.args...)...); r.code != tc.code {
				t.Errorf("run check exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
		})
	}
}

// TestCheckJSONFields: the fields scripts read from `check -o json` are
// k3s's seven, on every row; k3sca's rows add Source, and nothing else
// is ever added.
func TestCheckJSONFields(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "check", "-d", sb.DataDir, "-o", "json")
	var doc map[string][]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v: %s", r.code, err, r.stdout)
	}
	if len(doc) != 1 || len(doc["Certificates"]) == 0 {
		t.Fatalf("top level %v, want only Certificates", doc)
	}
	k3s := []string{"Filename", "Subject", "Issuer", "Usages", "ExpiryTime", "ResidualTime", "Status"}
	for _, row := range doc["Certificates"] {
		for _, f := range k3s {
			if _, ok := row[f]; !ok {
				t.Errorf("row %v lacks %s", row, f)
			}
		}
		extra := len(row) - len(k3s)
		if _, ok := row["Source"]; ok {
			extra--
		}
		if _, ok := row["DatastoreDiffers"]; ok {
			extra--
		}
		if extra != 0 {
			t.Errorf("row has fields k3s's have not: %v", row)
		}
	}
}
