package pki

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// gtCheckServiceKey checks a new service.key: one new key of type kt first,
// then exactly suffix; k3s's validateServiceKey accepts it against current.
func gtCheckServiceKey(t *testing.T, data []byte, kt KeyType, current []byte, suffix string) {
	t.Helper()
	keys, err := ParsePrivateKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	if KeyTypeOf(keys[0].Public()) != kt {
		t.Errorf("first key is %s, want %s", KeyTypeOf(keys[0].Public()), kt)
	}
	first, _ := EncodeKey(keys[0])
	if !strings.HasPrefix(string(data), string(first)) || string(data[len(first):]) != suffix {
		t.Errorf("service.key is not new key + %q", suffix)
	}
	if len(current) == 0 {
		return
	}
	oldPub, err := ParsePublicKeysPEM(current)
	if err != nil {
		t.Fatal(err)
	}
	newPub, err := ParsePublicKeysPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range newPub {
		found = found || reflect.DeepEqual(oldPub[0], k)
	}
	if !found {
		t.Errorf("old ServiceAccount signing key not in new ServiceAccount key list")
	}
}

func TestGenServiceKeyRotation(t *testing.T) {
	k1, _ := KeyRSA2048.Generate(nil)
	k2, _ := KeyECDSAP256.Generate(nil)
	p1, _ := EncodeKey(k1)
	p2, _ := EncodeKey(k2)
	two := append(append([]byte{}, p1...), p2...)
	tests := []struct {
		name    string
		svc     KeyType
		current []byte
		suffix  string
		wantErr error
	}{
		{"rsa default after one key", "", p1, string(p1), nil},
		{"ecdsa after two keys", KeyECDSAP256, two, string(two), nil},
		{"no trailing newline", KeyECDSAP384, p2[:len(p2)-1], string(p2), nil},
		{"empty current", KeyECDSAP256, nil, "", ErrNoPEM},
		{"garbage", KeyECDSAP256, []byte("not a key"), "", ErrNoPEM},
		{"certificate instead", KeyECDSAP256, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "", ErrNotAKey},
		{"encrypted", KeyECDSAP256, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "", ErrEncryptedKey},
		{"ed25519 refused", KeyEd25519, p1, "", ErrEd25519ServiceKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := gtOpts(gtNow)
			o.ServiceKeyType = tc.svc
			set, err := GenerateServiceKeyRotation(t.Context(), o, tc.current)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Files) != 1 || set.Files[0].Path != "tls/service.key" || set.Files[0].Mode != 0o600 || !set.Files[0].Secret {
				t.Fatalf("files %+v", gtPaths(set))
			}
			want := tc.svc
			if want == "" {
				want = KeyRSA2048
			}
			gtCheckServiceKey(t, set.Files[0].Data, want, tc.current, tc.suffix)
		})
	}
}
