package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
)

func TestCompletePath(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"alpha", ".hidden", "many"} {
		testkit.Mkdir(t, filepath.Join(dir, d))
	}
	for _, f := range []string{"alpine.txt", "beta", ".hfile"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		if err := os.WriteFile(filepath.Join(dir, "many", fmt.Sprintf("f%02d", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "alpha"), filepath.Join(dir, "alink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "broken")); err != nil {
		t.Fatal(err)
	}
	d := dir + "/"
	tests := []struct {
		name     string
		prefix   string
		dirsOnly bool
		chdir    bool
		home     bool
		want     []string
	}{
		{name: "files and dirs", prefix: d + "al", want: []string{d + "alink/", d + "alpha/", d + "alpine.txt"}},
		{name: "dirs only", prefix: d + "al", dirsOnly: true, want: []string{d + "alink/", d + "alpha/"}},
		{name: "a whole dir hides dot files", prefix: d,
			want: []string{d + "alink/", d + "alpha/", d + "alpine.txt", d + "beta", d + "broken", d + "many/"}},
		{name: "a typed dot shows them", prefix: d + ".", want: []string{d + ".hfile", d + ".hidden/"}},
		{name: "an exact dir name", prefix: d + "alpha", want: []string{d + "alpha/"}},
		{name: "no match", prefix: d + "zzz"},
		{name: "a missing dir", prefix: d + "nowhere/x"},
		{name: "a file taken for a dir", prefix: d + "beta/x"},
		{name: "at most 50", prefix: d + "many/f", want: manyWant(d+"many/", 50)},
		{name: "relative to the working dir", prefix: "be", chdir: true, want: []string{"beta"}},
		{name: "home", prefix: "~/alp", home: true, want: []string{"~/alpha/", "~/alpine.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chdir {
				t.Chdir(dir)
			}
			if tc.home {
				t.Setenv("HOME", dir)
			}
			got, err := CompletePath(tc.prefix, tc.dirsOnly)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CompletePath(%q, %t) =\n %q\nwant\n %q", tc.prefix, tc.dirsOnly, got, tc.want)
			}
		})
	}
}

func manyWant(dir string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%sf%02d", dir, i))
	}
	return out
}

func TestCompletePathUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any dir")
	}
	dir := filepath.Join(t.TempDir(), "locked")
	testkit.Mkdir(t, dir)
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if _, err := CompletePath(dir+"/x", false); err == nil {
		t.Error("an unreadable dir gave no error")
	}
}

func TestCommonPrefix(t *testing.T) {
	tests := []struct {
		name  string
		cands []string
		want  string
	}{
		{name: "none"},
		{name: "one", cands: []string{"/etc/rancher/"}, want: "/etc/rancher/"},
		{name: "shared start", cands: []string{"/d/alpha/", "/d/alpine.txt", "/d/alink/"}, want: "/d/al"},
		{name: "nothing shared", cands: []string{"a", "b"}},
		{name: "a candidate is the prefix", cands: []string{"/d/x", "/d/x/"}, want: "/d/x"},
		{name: "whole characters only", cands: []string{"/d/é", "/d/è"}, want: "/d/"},
		{name: "shared multi-byte character", cands: []string{"é1", "é2"}, want: "é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CommonPrefix(tc.cands); got != tc.want {
				t.Errorf("CommonPrefix(%q) = %q, want %q", tc.cands, got, tc.want)
			}
		})
	}
}
