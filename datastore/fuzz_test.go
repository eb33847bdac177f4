package datastore

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecrypt: any stored value decrypts or fails with an error, never a
// panic (k3s itself panics on short data); what decrypts re-encrypts to a
// value that decrypts to the same plaintext.
func FuzzDecrypt(f *testing.F) {
	good, err := encryptWith("mysecret", "0001020304050607", make([]byte, NonceSize), []byte("{}\n"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{good, []byte("nocolon"), []byte("salt:***"), []byte("salt:AAAA"), []byte(":"), nil} {
		f.Add("mysecret", s)
	}
	f.Fuzz(func(t *testing.T, pass string, value []byte) {
		plain, err := Decrypt(pass, value)
		if err != nil {
			return
		}
		again, err := Encrypt(pass, plain)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := Decrypt(pass, again); err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("re-encrypted value does not round-trip: %v", err)
		}
	})
}

// FuzzDecodeBootstrap: decoding never panics, and a decoded value encodes
// to bytes that decode to the same entries.
func FuzzDecodeBootstrap(f *testing.F) {
	b := Bootstrap{"ServerCA": {Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Content: []byte("hello")}}
	seed, err := b.Encode()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{seed, []byte(`{"ServerCA":"aGVsbG8="}`), []byte(`{}`), []byte(`[]`), []byte(`{"X":{"Timestamp":"x"}}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeBootstrap(data)
		if err != nil {
			return
		}
		enc, err := got.Encode()
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		again, err := DecodeBootstrap(enc)
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-decoded %d entries (%v), want %d", len(again), err, len(got))
		}
		for k, e := range got {
			if a := again[k]; !a.Timestamp.Equal(e.Timestamp) || !bytes.Equal(a.Content, e.Content) {
				t.Fatalf("entry %s changed in a round trip", k)
			}
		}
	})
}
