package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

func TestChooseAccess(t *testing.T) {
	tests := []struct {
		name      string
		via       Via
		running   bool
		config    string   // k3s config.yaml content; "" writes none
		endpoints []string // --etcd-endpoints
		setup     func(t *testing.T, server string)
		noDB      bool
		wantVia   Via
		wantEnd   []string // endpoints; "{server}" is replaced
		wantCA    string
		wantErr   error
		reason    string
	}{
		{name: "stopped with state.db", wantVia: ViaSQLite, reason: "stopped"},
		{name: "running, auto", running: true, wantErr: ErrK3sRunning},
		{name: "running, sqlite asked", running: true, via: ViaSQLite, wantErr: ErrK3sRunning},
		{name: "endpoints given", endpoints: []string{"https://e1:2379"}, wantVia: ViaEtcd, wantEnd: []string{"https://e1:2379"}},
		{name: "external etcd from k3s config", wantVia: ViaEtcd, reason: "datastore-endpoint",
			config:  "token: x\ndatastore-endpoint: https://a:2379, https://b:2379\ndatastore-cafile: /etc/ca.pem\ndatastore-certfile: /etc/c.pem\ndatastore-keyfile: /etc/k.pem\n",
			wantEnd: []string{"https://a:2379", "https://b:2379"}, wantCA: "/etc/ca.pem"},
		{name: "external SQL without kine socket", config: "datastore-endpoint: mysql://u:p@tcp(db:3306)/k3s\n", wantErr: ErrNoDatastore},
		{name: "config of another data dir is ignored", config: "data-dir: /var/lib/rancher/k3s\ndatastore-endpoint: https://a:2379\n",
			wantVia: ViaSQLite, reason: "stopped"},
		{name: "embedded etcd", setup: func(t *testing.T, server string) { testkit.Mkdir(t, filepath.Join(server, "db", "etcd")) },
			wantVia: ViaEtcd, wantEnd: []string{datastore.EmbeddedEtcdEndpoint}, wantCA: "{server}/tls/etcd/server-ca.crt"},
		{name: "live kine socket", running: true, setup: func(t *testing.T, server string) { testservers.ListenKineSocket(t, server) }, wantVia: ViaEtcd,
			wantEnd: []string{"unix://{server}/kine.sock"}, reason: "kine.sock"},
		{name: "no datastore at all", noDB: true, wantErr: ErrNoDatastore},
		{name: "server asked", via: ViaServer, running: true, wantVia: ViaServer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			if tc.noDB {
				if err := os.Remove(sandboxtest.DBPath(sb)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(t, sb.ServerDir)
			}
			in := AccessInput{DataDir: sb.DataDir, Via: tc.via, Product: product.K3s, Services: fakeServices(tc.running),
				Etcd: datastore.EtcdConfig{Endpoints: tc.endpoints}}
			if tc.config != "" {
				in.K3sConfig = filepath.Join(t.TempDir(), "config.yaml")
				if !strings.Contains(tc.config, "data-dir:") {
					tc.config = "data-dir: " + sb.DataDir + "\n" + tc.config
				}
				if err := os.WriteFile(in.K3sConfig, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			acc, err := ChooseAccess(context.Background(), in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			sub := func(s string) string { return strings.ReplaceAll(s, "{server}", sb.ServerDir) }
			if acc.Via != tc.wantVia || !strings.Contains(acc.Reason, tc.reason) {
				t.Errorf("via %s (%q), want %s mentioning %q", acc.Via, acc.Reason, tc.wantVia, tc.reason)
			}
			var want []string
			for _, e := range tc.wantEnd {
				want = append(want, sub(e))
			}
			if tc.wantEnd != nil && !slices.Equal(acc.Etcd.Endpoints, want) {
				t.Errorf("endpoints %v, want %v", acc.Etcd.Endpoints, want)
			}
			if acc.Etcd.CAFile != sub(tc.wantCA) {
				t.Errorf("CA file %q, want %q", acc.Etcd.CAFile, sub(tc.wantCA))
			}
		})
	}
}
