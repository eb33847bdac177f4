package node

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

func TestResolveDataDir(t *testing.T) {
	tests := []struct {
		name       string
		product    product.Product
		flag       string
		files      map[string]string // relative to the config dir
		want       string
		wantSource string // a substring; "{dir}" is the config dir
		wantErr    bool
	}{
		{name: "default", want: "/var/lib/rancher/k3s", wantSource: "default for k3s"},
		{name: "rke2 default", product: product.RKE2, want: "/var/lib/rancher/rke2", wantSource: "default for rke2"},
		{name: "flag wins", flag: "/from/flag", files: map[string]string{"config.yaml": "data-dir: /from/config\n"},
			want: "/from/flag", wantSource: "--data-dir"},
		{name: "config.yaml", files: map[string]string{"config.yaml": "token: x\ndata-dir: /from/config\n"},
			want: "/from/config", wantSource: "{dir}/config.yaml"},
		{name: "config without data-dir", files: map[string]string{"config.yaml": "token: x\n"},
			want: "/var/lib/rancher/k3s", wantSource: "default"},
		{name: "a drop-in overrides config.yaml", files: map[string]string{
			"config.yaml":              "data-dir: /from/config\n",
			"config.yaml.d/10-dd.yaml": "data-dir: /from/dropin\n",
		}, want: "/from/dropin", wantSource: "{dir}/config.yaml.d/10-dd.yaml"},
		{name: "drop-ins in lexical order", files: map[string]string{
			"config.yaml.d/20-b.yaml": "data-dir: /from/20\n",
			"config.yaml.d/10-a.yaml": "data-dir: /from/10\n",
			"config.yaml.d/15-c.yaml": "token: y\n",
		}, want: "/from/20", wantSource: "20-b.yaml"},
		{name: ".yml counts, other suffixes do not", files: map[string]string{
			"config.yaml.d/10-a.YML":  "data-dir: /from/yml\n",
			"config.yaml.d/20-b.txt":  "data-dir: /from/txt\n",
			"config.yaml.d/30-c.yaml": "",
		}, want: "/from/yml", wantSource: "10-a.YML"},
		{name: "short key and append form", files: map[string]string{
			"config.yaml":             "d: /from/short\n",
			"config.yaml.d/10-a.yaml": "data-dir+: /from/append\n",
		}, want: "/from/append", wantSource: "10-a.yaml"},
		{name: "a repeated key: the last wins", files: map[string]string{"config.yaml": "data-dir: /first\ndata-dir: /second\n"},
			want: "/second", wantSource: "config.yaml"},
		{name: "broken YAML", files: map[string]string{"config.yaml": "data-dir: [\n"}, wantErr: true},
		{name: "not a mapping", files: map[string]string{"config.yaml": "- data-dir\n"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, content := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(rel))
				testkit.Mkdir(t, filepath.Dir(p))
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, source, err := ResolveDataDir(tc.product, tc.flag, dir)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %t", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			wantSource := strings.ReplaceAll(tc.wantSource, "{dir}", dir)
			if got != tc.want || !strings.Contains(source, wantSource) {
				t.Errorf("data dir %q from %q, want %q from %q", got, source, tc.want, wantSource)
			}
		})
	}
}

// TestReadK3sDatastore: a missing file is an empty config; the etcd
// endpoints are the http(s) URLs of datastore-endpoint, none for a SQL
// DSN; the config applies only to its own data-dir (default the
// product's).
func TestReadK3sDatastore(t *testing.T) {
	dir := t.TempDir()
	if ds, err := ReadK3sDatastore(filepath.Join(dir, "missing.yaml")); err != nil || ds != (K3sDatastore{}) {
		t.Fatalf("missing file: %+v, %v", ds, err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("datastore-endpoint: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadK3sDatastore(broken); err == nil {
		t.Error("broken YAML read without an error")
	}
	tests := []struct {
		name, config string
		dataDir      string
		endpoints    []string
		applies      bool
	}{
		{"external etcd", "data-dir: {dd}\ndatastore-endpoint: https://a:2379, http://b:2379\ndatastore-cafile: /ca.crt\n", "{dd}",
			[]string{"https://a:2379", "http://b:2379"}, true},
		{"SQL DSN", "data-dir: {dd}\ndatastore-endpoint: postgres://db/k3s\n", "{dd}", nil, true},
		{"another data dir", "data-dir: /elsewhere\ndatastore-endpoint: https://a:2379\n", "{dd}", []string{"https://a:2379"}, false},
		{"the default data dir", "datastore-endpoint: https://a:2379\n", product.K3s.DefaultDataDir(), []string{"https://a:2379"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dd := t.TempDir()
			path := filepath.Join(dd, "config.yaml")
			if err := os.WriteFile(path, []byte(strings.ReplaceAll(tc.config, "{dd}", dd)), 0o600); err != nil {
				t.Fatal(err)
			}
			ds, err := ReadK3sDatastore(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := ds.EtcdEndpoints(); !slices.Equal(got, tc.endpoints) {
				t.Errorf("endpoints %q, want %q", got, tc.endpoints)
			}
			if got := ds.EtcdConfig(); !slices.Equal(got.Endpoints, tc.endpoints) || got.CAFile != ds.CAFile {
				t.Errorf("etcd config %+v", got)
			}
			if got := ds.AppliesTo(strings.ReplaceAll(tc.dataDir, "{dd}", dd), product.K3s); got != tc.applies {
				t.Errorf("applies to the data dir: %t, want %t", got, tc.applies)
			}
		})
	}
}
