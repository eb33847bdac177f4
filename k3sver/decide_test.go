package k3sver

import (
	"slices"
	"strings"
	"testing"
)

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Action)+":"+f.ID)
	}
	return out
}

func TestDecide(t *testing.T) {
	rotServer := Operation{Op: OpCARotation, Path: PathServer}
	rotDirect := Operation{Op: OpCARotation, Path: PathDirect}
	tests := []struct {
		name    string
		version string
		op      Operation
		want    []string
	}{
		{"current release, rotation", "v1.36.3+k3s1", rotDirect, nil},
		{"current release, check", "v1.36.3+k3s1", Operation{Op: OpCheck}, nil},
		{"newer line", "v1.37.0+k3s1", rotServer, []string{"note:newer"}},
		{"before 2023-02, rotation refused", "v1.25.6+k3s1", rotDirect, []string{"refuse:no-ca-rotation", "note:listener-old-cert"}},
		{"before 2023-02, custom CA refused", "v1.23.16+k3s1", Operation{Op: OpCustomCA, Path: PathDirect}, []string{"refuse:no-ca-rotation", "note:listener-old-cert"}},
		{"older line than any listed, refused", "v1.22.17+k3s1", rotDirect, []string{"refuse:no-ca-rotation", "note:listener-old-cert"}},
		{"first 2023-02 release accepted", "v1.25.7+k3s1", rotDirect, []string{"note:listener-old-cert"}},
		{"before 2023-02, leaf rotation fine, window 90", "v1.25.6+k3s1", Operation{Op: OpLeafRotation}, []string{"note:renew-window-90"}},
		{"data dir ignored, custom dir, server", "v1.26.6+k3s1", Operation{Op: OpCARotation, Path: PathServer, CustomDataDir: true},
			[]string{"warn:rotate-ca-data-dir", "note:listener-old-cert"}},
		{"data dir ignored, default dir", "v1.26.6+k3s1", rotServer, []string{"note:listener-old-cert"}},
		{"data dir ignored, direct", "v1.26.6+k3s1", Operation{Op: OpCARotation, Path: PathDirect, CustomDataDir: true}, []string{"note:listener-old-cert"}},
		{"data dir fixed", "v1.27.4+k3s1", Operation{Op: OpCARotation, Path: PathServer, CustomDataDir: true}, []string{"note:listener-old-cert"}},
		{"11014 via server refused", "v1.31.1+k3s1", rotServer, []string{"refuse:restart-creds-newer", "note:listener-old-cert"}},
		{"11014 direct noted", "v1.30.5+k3s1", rotDirect, []string{"note:restart-creds-newer-direct", "note:listener-old-cert"}},
		{"11014 any revision", "v1.29.9+k3s2", rotServer, []string{"refuse:restart-creds-newer", "note:listener-old-cert"}},
		{"11014 fixed", "v1.31.2+k3s1", rotServer, []string{"note:listener-old-cert"}},
		{"10689 via server refused", "v1.29.8+k3s1", rotServer, []string{"refuse:staged-files-unreadable", "note:listener-old-cert"}},
		{"10689 direct fine", "v1.28.13+k3s1", rotDirect, []string{"note:listener-old-cert"}},
		{"13006 fixed in 1.33", "v1.33.6+k3s1", rotDirect, nil},
		{"13006 rollout", "v1.33.5+k3s1", Operation{Op: OpRollout}, []string{"note:listener-old-cert"}},
		{"rollout: server before 2023-02 refused", "v1.25.6+k3s1", Operation{Op: OpRollout}, []string{"refuse:rollout-no-ca-rotation", "note:listener-old-cert"}},
		{"rollout: agent before 2023-02 goes on", "v1.25.6+k3s1", Operation{Op: OpRollout, Agent: true}, []string{"note:listener-old-cert"}},
		{"rollout: first 2023-02 release", "v1.26.2+k3s1", Operation{Op: OpRollout}, []string{"note:listener-old-cert"}},
		{"rollout: 11014 server warned", "v1.30.5+k3s1", Operation{Op: OpRollout}, []string{"warn:rollout-restart-creds-newer", "note:listener-old-cert"}},
		{"rollout: 11014 agent not", "v1.30.5+k3s1", Operation{Op: OpRollout, Agent: true}, []string{"note:listener-old-cert"}},
		{"rollout: current release", "v1.36.3+k3s1", Operation{Op: OpRollout}, nil},
		{"window 90 before 2025-05", "v1.32.4+k3s1", Operation{Op: OpCheck}, []string{"note:renew-window-90"}},
		{"window 120 from 2025-05", "v1.32.5+k3s1", Operation{Op: OpCheck}, nil},
		{"rc of a fixed release matched as it", "v1.31.2-rc1+k3s1", rotServer, []string{"note:release-candidate", "note:listener-old-cert"}},
		{"dev build matched as its release", "v1.30.5+k3s-e9bb624c", rotServer,
			[]string{"note:development-build", "refuse:restart-creds-newer", "note:listener-old-cert"}},
		{"rke2 by Kubernetes version", "v1.31.1+rke2r1", rotServer, []string{"note:rke2", "refuse:restart-creds-newer", "note:listener-old-cert"}},
		{"restore: no row", "v1.25.6+k3s1", Operation{Op: OpRestore, Path: PathDirect}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Parse(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			got := Decide(&v, tt.op)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("Decide(%s, %+v) = %v, want %v", tt.version, tt.op, ids(got), tt.want)
			}
			if Refuses(got) != slices.ContainsFunc(tt.want, func(s string) bool { return strings.HasPrefix(s, "refuse:") }) {
				t.Errorf("Refuses = %v", Refuses(got))
			}
			for _, f := range got {
				if strings.Contains(f.Text, "%!") {
					t.Errorf("%s: bad format: %s", f.ID, f.Text)
				}
			}
		})
	}
}

func TestDecideUnknown(t *testing.T) {
	got := Decide(nil, Operation{Op: OpCARotation, Path: PathServer})
	if !slices.Equal(ids(got), []string{"note:unknown"}) || Refuses(got) {
		t.Fatalf("Decide(nil) = %v; want one note and no refusal", ids(got))
	}
}

func TestRefusalNamesVersionAndSource(t *testing.T) {
	v, _ := Parse("v1.31.1+k3s1")
	fs := Decide(&v, Operation{Op: OpCARotation, Path: PathServer})
	if !strings.Contains(fs[0].Text, "v1.31.1+k3s1") || !strings.Contains(fs[0].Text, "newer than datastore") || fs[0].Source != "k3s-io/k3s#11014" {
		t.Fatalf("refusal = %+v", fs[0])
	}
}

func TestRenewDays(t *testing.T) {
	tests := []struct {
		version string
		days    int
		ok      bool
	}{
		{"v1.33.0+k3s1", 90, true},
		{"v1.33.1+k3s1", 0, false},
		{"v1.30.12+k3s1", 90, true},
		{"v1.30.13+rke2r1", 0, false},
		{"v1.29.15+k3s1", 90, true},
		{"v1.34.1+k3s1", 0, false},
		{"v1.31.9-rc1+k3s1", 0, false},
	}
	for _, tt := range tests {
		v, err := Parse(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		days, src, ok := RenewDays(&v)
		if days != tt.days || ok != tt.ok || (ok && src == "") {
			t.Errorf("RenewDays(%s) = %d, %q, %v; want %d, %v", tt.version, days, src, ok, tt.days, tt.ok)
		}
	}
	if _, _, ok := RenewDays(nil); ok {
		t.Error("RenewDays(nil) is known")
	}
}

// TestTable checks the table itself: every version parses, every row has a
// source, an action, operations and text with one %s.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Table {
		if r.ID == "" || seen[r.ID] || r.Source == "" || r.Action == "" || len(r.Ops) == 0 || strings.Count(r.Says, "%s") != 1 {
			t.Errorf("row %+v is incomplete or repeated", r)
		}
		seen[r.ID] = true
		for _, s := range append(slices.Clone(r.Affects.Before), r.Affects.Exactly...) {
			if _, err := Parse(s); err != nil {
				t.Errorf("row %s: %v", r.ID, err)
			}
		}
	}
}
