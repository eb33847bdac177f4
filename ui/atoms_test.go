package ui

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/steps"
)

func TestUnits(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"then systemctl restart k3s (OpenRC: rc-service k3s restart); wait until it is Ready",
			[]string{"then", "systemctl restart k3s", "(OpenRC:", "rc-service k3s restart);", "wait", "until", "it", "is", "Ready"}},
		{"on each: touch /a/b && chmod 600 /a/b",
			[]string{"on", "each:", "touch /a/b", "&&", "chmod 600 /a/b"}},
		{"so `k3s certificate rotate-ca --path=<dir>` accepts it",
			[]string{"so", "`k3s certificate rotate-ca --path=<dir>`", "accepts", "it"}},
		{"k3s accepts it", []string{"k3s", "accepts", "it"}},
		{"undo with: k3sca datastore restore data/server/k3sca-backups/1-1.json -d data --yes",
			[]string{"undo", "with:", "k3sca datastore restore data/server/k3sca-backups/1-1.json -d data --yes"}},
	}
	for _, tt := range tests {
		if got := units(tt.in); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("units(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestWrapAtoms(t *testing.T) {
	path := "/var/lib/rancher/k3s/server/tls/client-k3s-cloud-controller.crt"
	token := "K10" + strings.Repeat("ab", 32) + "::server:" + strings.Repeat("p", 32)
	tests := []struct {
		name, prefix, text string
		width              int
		want               string
	}{
		{"prose wraps at spaces", "• ", "one two three four", 12, "• one two\n  three four"},
		{"a path moves whole to the next line", "  ", "backed up to " + path, 70, "  backed up to\n  " + path},
		{"a path wider than the indent room starts at column 0", "      ", "file " + path, 66, "      file\n" + path},
		{"a token wider than the screen is shortened in the middle", "", "new token: " + token, 80,
			"new token:\n" + elide(token, 80)},
		{"a command is never split", "", "then systemctl restart k3s; now", 23, "then\nsystemctl restart k3s;\nnow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapAtoms(tt.prefix, tt.text, tt.width)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			for _, l := range strings.Split(got, "\n") {
				if ansi.StringWidth(l) > tt.width {
					t.Errorf("line %q over %d", l, tt.width)
				}
			}
		})
	}
	if e := elide(token, 80); ansi.StringWidth(e) != 80 || !strings.HasPrefix(e, "K10ab") || !strings.HasSuffix(e, "ppp") {
		t.Errorf("elide = %q", e)
	}
}

// Patterns of an atom broken by a hard newline, seen at the end of one
// line (and the start of the next).
var (
	hexEnd     = regexp.MustCompile(`[0-9a-fx]{8,}$`)
	hexStart   = regexp.MustCompile(`^[0-9a-fx]{4,}`)
	tildeCut   = regexp.MustCompile(`\S~(\s|$)`)
	elidedMid  = regexp.MustCompile(`\S…\S|(^|\s)…[^\s]`)
	sizeInName = regexp.MustCompile(`(\d+)x(\d+)`)
)

// TestGoldenScreensKeepAtomsWhole scans every golden screen: no line is
// over the width, no hash, token, path or command is split by a hard
// newline, no "~" stands for a cut value, and a value shortened with "…"
// is on a screen that offers it whole (w, or t for a masked token).
func TestGoldenScreensKeepAtomsWhole(t *testing.T) {
	n := 0
	err := filepath.WalkDir(filepath.Join(pkgDir, "testdata"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".golden") {
			return err
		}
		m := sizeInName.FindAllStringSubmatch(p, -1)
		if len(m) == 0 {
			// Only the plain mode's transcripts have no screen size.
			if !strings.Contains(p, "TestPlain") {
				t.Errorf("%s: a golden screen without its size in the name is not scanned", p)
			}
			return nil
		}
		width, _ := strconv.Atoi(m[len(m)-1][1])
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		rel, _ := filepath.Rel(pkgDir, p)
		for _, problem := range scanScreen(string(b), width) {
			t.Errorf("%s: %s", rel, problem)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("scanned %d goldens, want them all", n)
	}
}

// scanScreen lists what breaks the atom rule on one screen.
func scanScreen(view string, width int) []string {
	var out []string
	lines := strings.Split(view, "\n")
	whole := strings.Contains(view, "whole lines")
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			out = append(out, "line "+strconv.Itoa(i+1)+" is "+strconv.Itoa(w)+" wide: "+l)
		}
		if tildeCut.MatchString(l) {
			out = append(out, "line "+strconv.Itoa(i+1)+" cuts a value with ~: "+l)
		}
		for _, m := range elidedMid.FindAllString(l, -1) {
			masked := strings.Contains(l, "****") && strings.Contains(view, "t show")
			if !whole && !masked {
				out = append(out, "line "+strconv.Itoa(i+1)+" shortens a value ("+m+") on a screen without w: "+l)
			}
		}
		if i+1 >= len(lines) {
			continue
		}
		f := strings.Fields(l)
		g := strings.Fields(lines[i+1])
		if len(f) == 0 || len(g) == 0 || strings.HasSuffix(l, " ") {
			continue
		}
		last, first := f[len(f)-1], g[0]
		split := ""
		switch {
		case strings.HasSuffix(last, "/") && len(last) > 1:
			split = "a path"
		case strings.HasSuffix(last, "-") && len(last) > 1 && !strings.HasPrefix(first, "-"):
			split = "a hyphenated name"
		case hexEnd.MatchString(last) && hexStart.MatchString(first):
			split = "a hash"
		case strings.Count(last, "<") > strings.Count(last, ">"):
			split = "a placeholder"
		case strings.Count(l, "`")%2 == 1:
			split = "a command"
		case strings.HasPrefix(first, "::") || strings.HasSuffix(last, "::"):
			split = "a token"
		case ansi.StringWidth(l) == width && strings.ContainsAny(last, "/:") && !strings.Contains(l, ellipsis) && !strings.HasPrefix(lines[i+1], " "):
			split = "a value hard-wrapped at the width"
		}
		if split != "" {
			out = append(out, "lines "+strconv.Itoa(i+1)+"-"+strconv.Itoa(i+2)+" split "+split+": "+last+" / "+first)
		}
	}
	return out
}

// scrollMark is a line that says how much more there is ("… 2 steps
// below"): an ellipsis that shortens no value.
var scrollMark = regexp.MustCompile(`^\s*… \d+ `)

// offeredWhole lists the shortened values of view ("…" in a word, or a
// cut at the end of a line) that whole, what w prints for the screen,
// does not hold in full: the rule that a value shown shortened is one
// key away whole. A masked token ("****") is offered by t instead.
func offeredWhole(view, whole string) []string {
	var out []string
	wholeLines := strings.Split(whole, "\n")
	holds := func(head, tail string) bool {
		for _, l := range wholeLines {
			if i := strings.Index(l, head); i >= 0 && strings.Contains(l[i+len(head):], tail) && len(l) > i+len(head)+len(tail) {
				return true
			}
		}
		return false
	}
	for n, l := range strings.Split(view, "\n") {
		if !strings.Contains(l, ellipsis) || scrollMark.MatchString(l) || strings.Contains(l, "****") {
			continue
		}
		for _, f := range strings.Fields(l) {
			head, tail, ok := strings.Cut(f, ellipsis)
			if !ok {
				continue
			}
			head = strings.TrimLeft(head, "(`'\"")
			tail = strings.TrimRight(tail, ").,;:`'\"")
			if head == "" && tail == "" {
				// Prose cut at a space: the words before it go on.
				before, _, _ := strings.Cut(l, " "+ellipsis)
				words := strings.Fields(before)
				head = strings.Join(words[max(0, len(words)-3):], " ")
			}
			if !holds(head, tail) {
				out = append(out, fmt.Sprintf("line %d shortens %q, and w does not print it whole", n+1, f))
			}
		}
	}
	return out
}

// TestGoldensCoverEveryFlow: every flow of the menu has, at both golden
// sizes, its end screen, its help and (when it has fields) its form, and
// at least one question when one of its steps writes; no golden is left
// of a flow that is gone. (TestRealFlows records every question of each
// flow's run and fails on one without its golden.)
func TestGoldensCoverEveryFlow(t *testing.T) {
	root := filepath.Join(pkgDir, "testdata", "TestRealFlows")
	known := map[string]bool{}
	for _, sp := range steps.Flows() {
		known[sp.ID] = true
		for _, size := range sizes {
			dir := filepath.Join(root, sp.ID, fmt.Sprintf("%dx%d", size[0], size[1]))
			want := []string{"end", "help"}
			if len(sp.Fields) > 0 {
				want = append(want, "form")
			}
			if sp.ID != steps.FlowCheck {
				want = append(want, "question-1")
			}
			for _, name := range want {
				if _, err := os.Stat(filepath.Join(dir, name+".golden")); err != nil {
					t.Errorf("flow %s at %dx%d: no %s golden (%v)", sp.ID, size[0], size[1], name, err)
				}
			}
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !known[e.Name()] {
			t.Errorf("goldens of %s, which is no flow of the menu", e.Name())
		}
	}
}
