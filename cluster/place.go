package cluster

import (
	"fmt"
	"sort"
	"strings"

	"github.com/k3sca/k3sca/pki"
)

// Kind is the kind of place a node keeps a token in.
type Kind string

// The kinds of places.
const (
	// KindConfig is a key of config.yaml or a config.yaml.d drop-in.
	KindConfig Kind = "config file"
	// KindEnvFile is a variable of an environment file.
	KindEnvFile Kind = "environment file"
	// KindUnitExec is a flag in a systemd unit's ExecStart.
	KindUnitExec Kind = "unit ExecStart"
	// KindUnitEnv is a variable in a systemd unit's Environment=.
	KindUnitEnv Kind = "unit Environment="
	// KindOpenRC is a flag in an OpenRC script's command_args, or a
	// variable the script sets.
	KindOpenRC Kind = "OpenRC script"
	// KindTokenFile is a file named by token-file (or agent-token-file,
	// or the *_TOKEN_FILE variables): its whole content is the token.
	KindTokenFile Kind = "token file"
)

// Purpose is what a token is for.
type Purpose string

// The purposes of tokens.
const (
	// PurposeJoin is the token a node joins with (token, K3S_TOKEN, --token).
	PurposeJoin Purpose = "join token"
	// PurposeAgent is a server's agent token (agent-token, K3S_AGENT_TOKEN).
	PurposeAgent Purpose = "agent token"
)

// Place is one place a node keeps a token. It never holds the password in
// an exported field; String and GoString show the token masked.
type Place struct {
	// File is the file that holds the token's bytes.
	File string
	// Line is the 1-based line the token starts on.
	Line int
	// Kind is how k3s reads it.
	Kind Kind
	// Key is the key, variable or flag as written: "token", "K3S_TOKEN",
	// "--token", "-t"; for a token file, the key that names it.
	Key string
	// Purpose is what the token is for.
	Purpose Purpose
	// Via is, for a token file, the place that names it.
	Via string
	// Masked is the token with its secret replaced by asterisks.
	Masked string
	// CAHash is the token's CA hash; empty when the token pins no CA (a
	// short token or a bare password), which needs no edit.
	CAHash string
	// Err is why the value is not a usable token, or nil.
	Err error

	tok *pki.Token
	// secretStart, secretEnd are the token's raw bytes in File.
	secretStart, secretEnd int
	// hashOff is the offset of the CA hash in File; -1 when it cannot be
	// rewritten byte-exactly (quoted or escaped across its bytes).
	hashOff int
}

// PinsCA reports a full token with a CA hash: it must follow the CA.
func (p Place) PinsCA() bool { return p.CAHash != "" }

// Editable reports whether the CA hash can be rewritten in place.
func (p Place) Editable() bool { return p.hashOff >= 0 }

// Where is "file:line".
func (p Place) Where() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// String is "file:line kind key: masked token (CA hash ...)".
func (p Place) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", p.Where(), p.Kind, p.Key)
	if p.Via != "" {
		fmt.Fprintf(&b, " (named by %s)", p.Via)
	}
	switch {
	case p.Err != nil:
		fmt.Fprintf(&b, ": unusable: %v", p.Err)
	case p.PinsCA():
		fmt.Fprintf(&b, ": %s (CA hash %s)", p.Masked, p.CAHash)
	default:
		fmt.Fprintf(&b, ": %s (pins no CA: no edit needed)", p.Masked)
	}
	return b.String()
}

// sortPlaces orders places by the order their files were read, then by line.
func sortPlaces(places []Place, read []string) {
	rank := map[string]int{}
	for i, f := range read {
		rank[f] = i
	}
	sort.SliceStable(places, func(i, j int) bool {
		a, b := places[i], places[j]
		if rank[a.File] != rank[b.File] {
			return rank[a.File] < rank[b.File]
		}
		return a.Line < b.Line
	})
}

// GoString masks like String, so %#v shows no secret either.
func (p Place) GoString() string { return "cluster.Place{" + p.String() + "}" }

// secret is the password part used to compare places: the password, or
// the whole bootstrap token.
func (p Place) secret() (string, bool) {
	if p.tok == nil {
		return "", false
	}
	if p.tok.BootstrapToken != "" {
		return p.tok.BootstrapToken, true
	}
	return p.tok.Password, true
}

// newPlace parses the token in val (bytes of file) and records where it is.
func newPlace(file string, content []byte, kind Kind, key string, purpose Purpose, val word) Place {
	p := Place{File: file, Kind: kind, Key: key, Purpose: purpose, hashOff: -1, secretStart: -1, secretEnd: -1}
	if len(val.offs) > 0 && val.offs[0] >= 0 {
		p.Line = lineOf(content, val.offs[0])
		p.secretStart, p.secretEnd = val.span()
	}
	if val.dynamic {
		p.Err = fmt.Errorf("%w: the value uses $ or ` expansion", ErrUnreadable)
		p.Masked = "********"
		return p
	}
	tok, err := pki.ParseToken(string(val.b))
	if err != nil {
		p.Err = fmt.Errorf("parse token: %w", err)
		p.Masked = "********"
		return p
	}
	p.tok = &tok
	p.Masked = tok.Masked()
	if !strings.HasPrefix(string(val.b), pki.TokenPrefix) {
		p.Masked = maskedSecret
		if id, _, ok := strings.Cut(tok.BootstrapToken, "."); ok {
			p.Masked = id + ".****************"
		}
	}
	p.CAHash = tok.CAHash
	n := len(pki.TokenPrefix) + len(tok.CAHash)
	if tok.CAHash != "" && val.literal(content, 0, n) {
		p.hashOff = val.offs[len(pki.TokenPrefix)]
	}
	return p
}
