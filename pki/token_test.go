package pki

import (
	"errors"
	"strings"
	"testing"
)

var tcHash = strings.Repeat("a", 64)

func TestTokenParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Token
		wantErr error
		errText string
	}{
		{name: "empty", in: "", wantErr: ErrTokenEmpty, errText: "token must not be empty"},
		{name: "K10:: no creds", in: "K10::", wantErr: ErrTokenFormat, errText: "invalid token format"},
		{name: "K10::x no colon", in: "K10::x", wantErr: ErrTokenFormat},
		{name: "K10::x: empty password", in: "K10::x:", wantErr: ErrTokenFormat},
		{name: "short hash", in: "K10XX::x:y", wantErr: ErrTokenHashLength, errText: "invalid token CA hash length"},
		{name: "63-char hash", in: "K10" + tcHash[:63] + "::server:p", wantErr: ErrTokenHashLength},
		{name: "bare password beginning with K10", in: "K10secret", wantErr: ErrTokenFormat},
		{name: "full token", in: "K10" + tcHash + "::server:mysecret", want: Token{CAHash: tcHash, Username: "server", Password: "mysecret"}},
		{name: "hash not checked for hex or case", in: "K10" + strings.Repeat("Z", 64) + "::node:p", want: Token{CAHash: strings.Repeat("Z", 64), Username: "node", Password: "p"}},
		{name: "bare password", in: "mysecret", want: Token{Password: "mysecret"}},
		{name: "foo:bar is a bare password", in: "foo:bar", want: Token{Password: "foo:bar"}},
		{name: "password with ::", in: "K10::server:a::b", want: Token{Username: "server", Password: "a::b"}},
		{name: "bare password with ::", in: "pass::word", want: Token{Password: "pass::word"}},
		{name: "password split at first colon", in: "K10" + tcHash + "::server:a:b", want: Token{CAHash: tcHash, Username: "server", Password: "a:b"}},
		{name: "empty username", in: "K10:::p", want: Token{Password: "p"}},
		{name: "K10 without :: is creds", in: "K10user:pass", want: Token{Username: "user", Password: "pass"}},
		{name: "bare bootstrap token", in: "abcdef.0123456789abcdef", want: Token{BootstrapToken: "abcdef.0123456789abcdef"}},
		{name: "bootstrap token with hash", in: "K10" + tcHash + "::abcdef.0123456789abcdef", want: Token{CAHash: tcHash, BootstrapToken: "abcdef.0123456789abcdef"}},
		{name: "uppercase is not a bootstrap token", in: "ABCDEF.0123456789abcdef", want: Token{Password: "ABCDEF.0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseToken(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.errText != "" && err.Error() != tt.errText {
					t.Fatalf("err text = %q, want k3s's %q", err.Error(), tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseToken = %+v, want %+v", got, tt.want)
			}
			again, err := ParseToken(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip of %q: %+v, %v", got.Masked(), again, err)
			}
		})
	}
}

func TestTokenNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"mysecret", "mysecret", true},
		{"K10" + tcHash + "::server:mysecret", "mysecret", true},
		{"foo:bar", "foo:bar", true},
		{"K10" + tcHash + "::server:a:b", "a:b", true},
		{"K10" + tcHash + "::server:secret-password", "secret-password", true},
		{"abcdef.0123456789abcdef", "", false},
		{"K10::x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeToken(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("NormalizeToken(%q) = %q, %v", tt.in, got, err)
		}
		if !tt.ok && (!errors.Is(err, ErrTokenNormalize) || err.Error() !=
			"failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>") {
			t.Errorf("NormalizeToken(%q) err = %v", tt.in, err)
		}
	}
}

func TestTokenFormatting(t *testing.T) {
	tok := Token{CAHash: tcHash, Username: "server", Password: "s3cr3t"}
	tests := []struct {
		name, got, want string
	}{
		{"FormatToken", FormatToken(tcHash, "server:s3cr3t"), "K10" + tcHash + "::server:s3cr3t"},
		{"String", tok.String(), "K10" + tcHash + "::server:s3cr3t"},
		{"Creds", tok.Creds(), "server:s3cr3t"},
		{"Masked", tok.Masked(), "K10" + tcHash + "::server:********"},
		{"WithCAHash", tok.WithCAHash("b").String(), "K10b::server:s3cr3t"},
		{"WithCAHash leaves the original", tok.CAHash, tcHash},
		{"bootstrap Creds", Token{BootstrapToken: "abcdef.0123456789abcdef"}.Creds(), "abcdef.0123456789abcdef"},
		{"bootstrap Masked", Token{BootstrapToken: "abcdef.0123456789abcdef"}.Masked(), "K10::abcdef.****************"},
		{"empty hash", Token{Password: "p"}.String(), "K10:::p"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if strings.Contains(tok.Masked(), "s3cr3t") {
		t.Error("Masked leaks the password")
	}
}
