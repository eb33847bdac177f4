package pki

import (
	"testing"

	"github.com/k3sca/k3sca/product"
)

func benchCustomCA(b *testing.B, o GenOptions) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateCustomCA(b.Context(), o, CustomCAInput{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateCustomCAECDSA: default key types (EC P-256 root,
// intermediate and CAs; RSA-2048 service key).
func BenchmarkGenerateCustomCAECDSA(b *testing.B) {
	benchCustomCA(b, GenOptions{Product: product.K3s, Now: gtNow})
}

// BenchmarkGenerateCustomCAECDSAOnly: as above with an EC P-256 service key,
// to show what the RSA-2048 service key costs.
func BenchmarkGenerateCustomCAECDSAOnly(b *testing.B) {
	benchCustomCA(b, GenOptions{Product: product.K3s, Now: gtNow, ServiceKeyType: KeyECDSAP256})
}

// BenchmarkGenerateCustomCARSA4096 is what generate-custom-ca-certs.sh makes:
// RSA-4096 root and intermediate, EC P-256 CAs, RSA-2048 service key.
func BenchmarkGenerateCustomCARSA4096(b *testing.B) {
	benchCustomCA(b, GenOptions{Product: product.K3s, Now: gtNow, RootKeyType: KeyRSA4096})
}

// BenchmarkGenerateDefaultCAs is k3s's first start: five P-256 CAs and an RSA-2048 service key.
func BenchmarkGenerateDefaultCAs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateDefaultCAs(GenOptions{Product: product.K3s, Now: gtNow}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateRotation rotates default CAs read from disk.
func BenchmarkGenerateRotation(b *testing.B) {
	cas, err := GenerateDefaultCAs(GenOptions{Product: product.K3s, Now: gtNow})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := cas.Write(b.Context(), dir, gtNow); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateRotation(b.Context(), GenOptions{Product: product.K3s, Now: gtNow}, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateKey measures KeyType.Generate per key type.
func BenchmarkGenerateKey(b *testing.B) {
	for _, k := range KeyTypes {
		b.Run(string(k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Generate(nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
