package k3sver

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     Version
		str      string
	}{
		{"k3s tag", "v1.36.3+k3s1", Version{Product: "k3s", Major: 1, Minor: 36, Patch: 3, Rev: 1}, "v1.36.3+k3s1"},
		{"no v", "1.31.1+k3s2", Version{Product: "k3s", Major: 1, Minor: 31, Patch: 1, Rev: 2}, "v1.31.1+k3s2"},
		{"rke2 tag", "v1.30.5+rke2r1", Version{Product: "rke2", Major: 1, Minor: 30, Patch: 5, Rev: 1}, "v1.30.5+rke2r1"},
		{"release candidate", "v1.30.1-rc1+k3s1", Version{Product: "k3s", Major: 1, Minor: 30, Patch: 1, Pre: "rc1", Rev: 1}, "v1.30.1-rc1+k3s1"},
		{"rke2 rc", "v1.31.2-rc2+rke2r1", Version{Product: "rke2", Major: 1, Minor: 31, Patch: 2, Pre: "rc2", Rev: 1}, "v1.31.2-rc2+rke2r1"},
		{"development build", "v1.30.5+k3s-e9bb624c", Version{Product: "k3s", Major: 1, Minor: 30, Patch: 5, Dev: "e9bb624c"}, "v1.30.5+k3s-e9bb624c"},
		{"k3s --version", "k3s version v1.31.1+k3s1 (452dbbc1)\ngo version go1.22.6\n",
			Version{Product: "k3s", Major: 1, Minor: 31, Patch: 1, Rev: 1, Commit: "452dbbc1", Go: "go1.22.6"}, "v1.31.1+k3s1"},
		{"k3s --version of a dev build", "k3s version v1.28.14+k3s-3cc4334f (3cc4334f)\ngo version go1.22.7",
			Version{Product: "k3s", Major: 1, Minor: 28, Patch: 14, Dev: "3cc4334f", Commit: "3cc4334f", Go: "go1.22.7"}, "v1.28.14+k3s-3cc4334f"},
		{"rke2 --version", "rke2 version v1.30.5+rke2r1 (1a2b3c4d)\ngo version go1.22.5 X:boringcrypto",
			Version{Product: "rke2", Major: 1, Minor: 30, Patch: 5, Rev: 1, Commit: "1a2b3c4d", Go: "go1.22.5"}, "v1.30.5+rke2r1"},
		{"CRLF and spaces", "  k3s version v1.36.3+k3s1 (866d743e)\r\ngo version go1.26.5\r\n",
			Version{Product: "k3s", Major: 1, Minor: 36, Patch: 3, Rev: 1, Commit: "866d743e", Go: "go1.26.5"}, "v1.36.3+k3s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}

func TestParseGarbage(t *testing.T) {
	for _, in := range []string{
		"", "   ", "garbage", "v1.31", "v1.31.1", "v1.31.1+", "v1.31.1+k3s", "v1.31.1+k8s1", "v1.31.x+k3s1",
		"version v1.31.1+k3s1", "k3s version", "k3s version nonsense (abc)", "rke2 version v1.31.1+k3s1 (abc)",
		"v1.31.1+k3s1 v1.32.0+k3s1", "v1.31.1+k3s1\nv1.32.0+k3s1", "v1.31.1+k3s-XYZ", "<html>401 Unauthorized</html>",
	} {
		if v, err := Parse(in); !errors.Is(err, ErrNotVersion) {
			t.Errorf("Parse(%q) = %v, %v; want ErrNotVersion", in, v, err)
		}
	}
}
