package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkRSAKey compares a key of the shared prime pool (GOMAXPROCS
// workers on its two primes) with crypto/rsa.GenerateKey (one core) per
// size; candidates/op is the number of sieved candidates tested per key.
func BenchmarkRSAKey(b *testing.B) {
	for _, nlen := range []int{2048, 4096} {
		b.Run(fmt.Sprintf("k3sca-%d", nlen), func(b *testing.B) {
			pool := newPrimePool(runtime.GOMAXPROCS(0))
			for b.Loop() {
				if _, err := pool.rsaKey(b.Context(), nlen); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pool.tested.Load())/float64(b.N), "candidates/op")
		})
		b.Run(fmt.Sprintf("crypto-rsa-%d", nlen), func(b *testing.B) {
			for b.Loop() {
				if _, err := rsa.GenerateKey(rand.Reader, nlen); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRSAKey4096Pair is the RSA work of generate-custom-ca-certs.sh's
// set: two RSA-4096 keys on one pool, as genKeys makes them.
func BenchmarkRSAKey4096Pair(b *testing.B) {
	reqs := []keyReq{{"root CA", KeyRSA4096}, {"intermediate CA", KeyRSA4096}}
	for b.Loop() {
		if _, err := genKeys(b.Context(), reqs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSmallPrimeSieve is the sieve of one window of 2048-bit candidates.
func BenchmarkSmallPrimeSieve(b *testing.B) {
	t := smallPrimes()
	start, err := randomPrimeStart(2048, sieveWindow)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		t.sieve(start, sieveWindow)
	}
}
