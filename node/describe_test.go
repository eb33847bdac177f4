package node

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

// TestDescribe: the role comes from the data dir's layout; the datastore
// is asked only of a server; the service state is the role's unit's; a
// version given is taken as found, and an unknown one says why.
func TestDescribe(t *testing.T) {
	k3s := &K3sVersion{Version: "v1.33.5+k3s1", Source: "test"}
	tests := []struct {
		name   string
		dirs   []string
		k3s    *K3sVersion
		asked  bool
		want   Facts
		noData bool // no Datastore func
	}{
		{name: "a server", dirs: []string{"server/tls"}, k3s: k3s, asked: true,
			want: Facts{Role: RoleServer, Datastore: "sqlite (test)", ServiceState: "running", Init: "fake", K3sVersion: "v1.33.5+k3s1"}},
		{name: "a server, datastore not looked for", dirs: []string{"server/tls"}, k3s: k3s, noData: true,
			want: Facts{Role: RoleServer, Datastore: "unknown: not looked for", ServiceState: "running", Init: "fake", K3sVersion: "v1.33.5+k3s1"}},
		{name: "an agent", dirs: []string{"agent"}, k3s: k3s,
			want: Facts{Role: RoleAgent, Datastore: "none", ServiceState: "stopped", Init: "fake", K3sVersion: "v1.33.5+k3s1"}},
		{name: "nothing, version unknown", k3s: &K3sVersion{Unknown: "nothing answered"},
			want: Facts{Role: RoleNone, Datastore: "none", ServiceState: "running", Init: "fake", K3sVersion: "unknown: nothing answered"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dd := t.TempDir()
			for _, d := range tc.dirs {
				testkit.Mkdir(t, filepath.Join(dd, filepath.FromSlash(d)))
			}
			asked := false
			in := DescribeInput{VersionInput: VersionInput{DataDir: dd, Product: product.K3s, Services: NewFakeServices("k3s")}, K3s: tc.k3s}
			if !tc.noData {
				in.Datastore = func(context.Context) string { asked = true; return "sqlite (test)" }
			}
			got := Describe(context.Background(), in)
			want := tc.want
			want.DataDir = dd
			if got != want {
				t.Errorf("facts\n %+v\nwant\n %+v", got, want)
			}
			if asked != tc.asked {
				t.Errorf("datastore asked: %t, want %t", asked, tc.asked)
			}
		})
	}
}
