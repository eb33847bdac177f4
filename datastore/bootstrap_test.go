package datastore

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// k3sFile is k3s's bootstrap.File, the reference for byte identity.
type k3sFile struct {
	Timestamp time.Time
	Content   []byte
}

func k3sEncode(t *testing.T, b Bootstrap) []byte {
	t.Helper()
	m := map[string]k3sFile{}
	for k, v := range b {
		m[k] = k3sFile(v)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var bsNow = time.Date(2026, 8, 12, 10, 0, 0, 123456789, time.UTC)

func TestEncodeMatchesK3s(t *testing.T) {
	plus2 := time.FixedZone("", 2*3600)
	tests := []struct {
		name string
		in   Bootstrap
		want string
	}{
		{"spec 10.1", Bootstrap{"ServerCA": {Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Content: []byte("hello")}},
			`{"ServerCA":{"Timestamp":"2024-01-02T03:04:05Z","Content":"aGVsbG8="}}` + "\n"},
		{"nanoseconds and zone", Bootstrap{"ClientCA": {Timestamp: bsNow.In(plus2), Content: []byte{0xff, 0, '<'}}},
			`{"ClientCA":{"Timestamp":"2026-08-12T12:00:00.123456789+02:00","Content":"/wA8"}}` + "\n"},
		{"trailing zeros trimmed", Bootstrap{"IPSECKey": {Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 500000000, time.UTC), Content: []byte{}}},
			`{"IPSECKey":{"Timestamp":"2026-01-01T00:00:00.5Z","Content":""}}` + "\n"},
		{"nil content and zero time", Bootstrap{"PasswdFile": {}},
			`{"PasswdFile":{"Timestamp":"0001-01-01T00:00:00Z","Content":null}}` + "\n"},
		{"sorted keys, unknown kept", Bootstrap{
			"ServiceKey": {Timestamp: bsNow, Content: []byte("k")}, "ClientCA": {Timestamp: bsNow, Content: []byte("c")},
			"ETCDPeerCA": {Timestamp: bsNow, Content: []byte("e")}, "Zzz": {Timestamp: bsNow, Content: []byte("z")}}, ""},
		{"empty", Bootstrap{}, "{}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if ref := k3sEncode(t, tc.in); !bytes.Equal(got, ref) {
				t.Errorf("Encode = %s\nk3s    = %s", got, ref)
			}
			if tc.want != "" && string(got) != tc.want {
				t.Errorf("Encode = %s\nwant     %s", got, tc.want)
			}
		})
	}
}

func TestDecodeBootstrap(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Bootstrap
		legacy bool
		err    error
	}{
		{"current", `{"ServerCA":{"Timestamp":"2024-01-02T03:04:05Z","Content":"aGVsbG8="}}` + "\n",
			Bootstrap{"ServerCA": {Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Content: []byte("hello")}}, false, nil},
		{"legacy flat", `{"ServerCA":"aGVsbG8=","ClientCA":""}`,
			Bootstrap{"ServerCA": {Content: []byte("hello")}, "ClientCA": {Content: []byte{}}}, true, nil},
		{"unknown key kept", `{"NewField":{"Timestamp":"2024-01-02T03:04:05Z","Content":"eA=="}}`,
			Bootstrap{"NewField": {Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Content: []byte("x")}}, false, nil},
		{"empty object", `{}`, Bootstrap{}, false, nil},
		{"null", `null`, Bootstrap{}, false, nil},
		{"not json", `not json`, nil, false, ErrNotBootstrapJSON},
		{"array", `[1,2]`, nil, false, ErrNotBootstrapJSON},
		{"bad base64", `{"ServerCA":"***"}`, nil, false, ErrNotBootstrapJSON},
		{"bad timestamp", `{"ServerCA":{"Timestamp":"yesterday","Content":""}}`, nil, false, ErrNotBootstrapJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, legacy, err := DecodeBootstrapFormat([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if legacy != tc.legacy {
				t.Errorf("legacy = %v, want %v", legacy, tc.legacy)
			}
			if err != nil {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries, want %d", len(got), len(tc.want))
			}
			for k, w := range tc.want {
				g, ok := got[k]
				if !ok || !g.Timestamp.Equal(w.Timestamp) || !bytes.Equal(g.Content, w.Content) {
					t.Errorf("%s = %+v, want %+v", k, g, w)
				}
			}
			if b, err := DecodeBootstrap([]byte(tc.in)); err != nil || len(b) != len(got) {
				t.Errorf("DecodeBootstrap disagrees: %v", err)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	old := Bootstrap{
		"ServerCA":   {Timestamp: bsNow, Content: []byte("a")},
		"ClientCA":   {Timestamp: bsNow, Content: []byte("b")},
		"PasswdFile": {Timestamp: bsNow, Content: []byte("p")},
	}
	tests := []struct {
		name string
		next Bootstrap
		want []FieldChange
	}{
		{"same content, new timestamps", Bootstrap{
			"ServerCA":   {Timestamp: bsNow.Add(time.Hour), Content: []byte("a")},
			"ClientCA":   {Timestamp: bsNow.Add(time.Hour), Content: []byte("b")},
			"PasswdFile": {Timestamp: bsNow, Content: []byte("p")},
		}, nil},
		{"changed, added, removed", Bootstrap{
			"ServerCA":   {Timestamp: bsNow, Content: []byte("A")},
			"PasswdFile": {Timestamp: bsNow, Content: []byte("p")},
			"ServiceKey": {Timestamp: bsNow, Content: []byte("sk")},
		}, []FieldChange{
			{Field: "ClientCA", Kind: ChangeRemoved, OldSHA256: sha256Hex([]byte("b")), OldSize: 1},
			{Field: "ServerCA", Kind: ChangeModified, OldSHA256: sha256Hex([]byte("a")), NewSHA256: sha256Hex([]byte("A")), OldSize: 1, NewSize: 1},
			{Field: "ServiceKey", Kind: ChangeAdded, NewSHA256: sha256Hex([]byte("sk")), NewSize: 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := old.Diff(tc.next)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff = %+v\nwant %+v", got, tc.want)
			}
			for _, c := range got {
				if c.String() == "" || bytes.Contains([]byte(c.String()), []byte("sk")) {
					t.Errorf("String() = %q", c.String())
				}
			}
		})
	}
}
