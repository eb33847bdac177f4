package datastore

import (
	"errors"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

func TestServerAPIPutResult(t *testing.T) {
	tests := []struct {
		name    string
		p       product.Product
		status  int
		body    string
		want    error
		wantMsg string
	}{
		{"204", product.K3s, 204, "", nil, ""},
		{"401", product.K3s, 401, "not authorized", ErrServerAuth, "k3s:server"},
		{"403", product.RKE2, 403, "forbidden", ErrServerAuth, "rke2:server"},
		{"500 with ID on rke2", product.RKE2, 500, `{"message":"certificate error ID 54321"}`, ErrServerRefused, "journalctl -u rke2-server | grep 54321"},
		{"500 without ID", product.K3s, 500, "boom", ErrServerStatus, "500"},
		{"404", product.K3s, 404, "", ErrServerStatus, "/v1-k3s/cert/cacerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&ServerAPI{Product: tt.p}).putResult(tt.status, []byte(tt.body), testkit.Now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
		})
	}
}
