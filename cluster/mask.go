package cluster

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// maskedSecret replaces a secret that is not a parsed token.
const maskedSecret = "********"

// userinfoRe matches "user:password@", as in a datastore-endpoint URL or a
// MySQL DSN on the same line as a token.
var userinfoRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([A-Za-z0-9._%+\-]+):([^\s@/'"]+)@`) })

// maskUserinfo masks the password of every "user:password@" in s.
func maskUserinfo(s string) string { return userinfoRe().ReplaceAllString(s, "$1:"+maskedSecret+"@") }

// yamlQuotedRe matches the quoted bits of a YAML error, which may quote
// file content.
var yamlQuotedRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("`[^`]*`|\"[^\"]*\"|'[^']*'") })

// scrubYAMLError is a YAML error without the file content it may quote.
func scrubYAMLError(err error) string { return yamlQuotedRe().ReplaceAllString(err.Error(), "…") }

// secretSpan is the raw bytes [start, end) of a secret in a file and what
// to show instead: the masked token before and after the edit.
type secretSpan struct {
	start, end int
	before     string
	after      string
}

// spansOf are the secret spans of every place in file, so that a diff
// line masks every token on it, edited or not.
func spansOf(places []Place, file string, newHash string) []secretSpan {
	var out []secretSpan
	for _, p := range places {
		if p.File != file || p.secretStart < 0 || p.secretEnd <= p.secretStart {
			continue
		}
		s := secretSpan{start: p.secretStart, end: p.secretEnd, before: maskedSecret, after: maskedSecret}
		if p.tok != nil {
			s.before = p.Masked
			s.after = s.before
			if p.PinsCA() && p.Editable() && p.CAHash != newHash {
				s.after = p.tok.WithCAHash(newHash).Masked()
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// maskLine renders file bytes [ls, le) with every secret span replaced:
// the part of a span that starts on this line by its masked token, a part
// continued from an earlier line by asterisks. The rest has its
// "user:password@" masked.
func maskLine(file []byte, ls, le int, spans []secretSpan, after bool) string {
	var b strings.Builder
	pos := ls
	for _, s := range spans {
		if s.end <= ls || s.start >= le || s.start < pos && s.end <= pos {
			continue
		}
		from := max(s.start, pos)
		b.WriteString(maskUserinfo(string(file[pos:from])))
		switch {
		case s.start >= ls && after:
			b.WriteString(s.after)
		case s.start >= ls:
			b.WriteString(s.before)
		default:
			b.WriteString(maskedSecret)
		}
		pos = min(s.end, le)
	}
	b.WriteString(maskUserinfo(string(file[pos:le])))
	return b.String()
}
