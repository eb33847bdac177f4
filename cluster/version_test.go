package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// TestNodeVersionProbe asks a node through its own transport (a
// remote.Local under a node root; commands run on this machine): the
// program of the unit's ExecStart, then the program on the node's PATH
// (through `sh -c 'command -v k3s'`), else unknown with what was tried.
func TestNodeVersionProbe(t *testing.T) {
	bin := t.TempDir()
	script := func(dir, tag string) string {
		p := filepath.Join(dir, "k3s")
		body := "#!/bin/sh\n[ \"$1\" = --version ] || exit 1\nprintf 'k3s version " + tag + " (abcdef12)\\ngo version go1.24.6\\n'\n"
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unitBin := script(bin, "v1.33.5+k3s1")
	pathDir := t.TempDir()
	script(pathDir, "v1.32.4+k3s1")
	tests := []struct {
		name          string
		unit          string // ExecStart program; "" no unit
		path          bool   // a k3s on PATH
		version, from string
	}{
		{"the unit's program", unitBin, true, "v1.33.5+k3s1", unitBin + " --version, ExecStart of /etc/systemd/system/k3s.service"},
		{"PATH when there is no unit", "", true, "v1.32.4+k3s1", filepath.Join(pathDir, "k3s") + " --version, PATH"},
		{"PATH when the unit's program is gone", "/nonexistent/k3s", true, "v1.32.4+k3s1", filepath.Join(pathDir, "k3s") + " --version, PATH"},
		{"unknown", "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.unit != "" {
				dir := filepath.Join(root, "etc", "systemd", "system")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "k3s.service"), []byte("[Service]\nExecStart="+tt.unit+" server\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.path {
				t.Setenv("PATH", pathDir+":/usr/bin:/bin")
			} else {
				t.Setenv("PATH", "/usr/bin:/bin")
			}
			node, err := remote.NewLocal(root, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, tried := ProgramVersion(context.Background(), NodeVersionProbe(node), product.K3s, "k3s")
			if tt.version == "" {
				if v != nil {
					t.Fatalf("found %+v, want unknown", v)
				}
				u := UnknownVersion(product.K3s, tried).Unknown
				for _, want := range []string{"unit k3s: " + ErrNoUnitProgram.Error(), "k3s is not on PATH", "`k3s --version`"} {
					if !strings.Contains(u, want) {
						t.Errorf("unknown %q does not say %q", u, want)
					}
				}
				return
			}
			if v == nil || v.Version != tt.version || v.Source != tt.from || v.Parsed() == nil || v.Parsed().Commit != "abcdef12" {
				t.Fatalf("found %+v (tried %v), want %s from %q", v, tried, tt.version, tt.from)
			}
		})
	}
}
