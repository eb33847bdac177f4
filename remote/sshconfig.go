package remote

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// SSHConfigFile is what k3sca reads of an OpenSSH client config
// (~/.ssh/config): Host blocks (patterns with * and ?, several per line,
// !negated) and in them HostName, User, Port and IdentityFile. As in
// OpenSSH the first value found for a host wins, IdentityFile lines add
// up, and lines before the first Host apply to every host. Match blocks
// are skipped whole (never applied), Include is not followed, and other
// keywords are ignored.
type SSHConfigFile struct {
	// Name is the file it was read from ("" when parsed from a reader).
	Name   string
	blocks []configBlock
}

// configBlock is one Host (or Match, skipped) block.
type configBlock struct {
	patterns []string // nil: applies to every host (before the first Host)
	match    bool     // a Match block: never applied
	settings []configSetting
}

type configSetting struct {
	key, value string
	line       int
}

// SSHHostSettings are the values an SSHConfigFile gives a host alias; zero
// values where it gives none.
type SSHHostSettings struct {
	HostName string
	User     string
	Port     int
	// IdentityFiles are as written, without ~ or % expanded.
	IdentityFiles []string
}

// ReadSSHConfig parses the file at path; a missing file is an empty config.
func ReadSSHConfig(path string) (*SSHConfigFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &SSHConfigFile{Name: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	c, err := ParseSSHConfig(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	c.Name = path
	return c, nil
}

// ParseSSHConfig parses an ssh config. Lines are "Keyword value" or
// "Keyword=value", keywords in any case, values optionally in double
// quotes; # starts a comment line. A Port that is not a number from 1 to
// 65535 is an error naming the line.
func ParseSSHConfig(r io.Reader) (*SSHConfigFile, error) {
	c := &SSHConfigFile{blocks: []configBlock{{}}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, rest := splitKeyword(line)
		args, err := splitArgs(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		key = strings.ToLower(key)
		switch key {
		case "host":
			if len(args) == 0 {
				return nil, fmt.Errorf("line %d: Host without a pattern", n)
			}
			c.blocks = append(c.blocks, configBlock{patterns: args})
			continue
		case "match":
			c.blocks = append(c.blocks, configBlock{match: true})
			continue
		case "hostname", "user", "port", "identityfile":
		default:
			continue // not ours
		}
		if len(args) != 1 {
			return nil, fmt.Errorf("line %d: %s wants one value, got %d", n, key, len(args))
		}
		if key == "port" {
			if p, err := strconv.Atoi(args[0]); err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("line %d: bad Port %q", n, args[0])
			}
		}
		b := &c.blocks[len(c.blocks)-1]
		b.settings = append(b.settings, configSetting{key: key, value: args[0], line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// splitKeyword splits "Key value", "Key=value" and "Key = value".
func splitKeyword(line string) (string, string) {
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return line, ""
	}
	key, rest := line[:i], strings.TrimLeft(line[i:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	return key, rest
}

// splitArgs splits on blanks, keeping "double quoted" parts together.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case (r == ' ' || r == '\t') && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if have {
		args = append(args, cur.String())
	}
	return args, nil
}

// Lookup returns the settings the config gives alias.
func (c *SSHConfigFile) Lookup(alias string) SSHHostSettings {
	var s SSHHostSettings
	if c == nil {
		return s
	}
	for _, b := range c.blocks {
		if b.match || (b.patterns != nil && !hostMatches(b.patterns, alias)) {
			continue
		}
		for _, kv := range b.settings {
			switch kv.key {
			case "hostname":
				if s.HostName == "" {
					s.HostName = kv.value
				}
			case "user":
				if s.User == "" {
					s.User = kv.value
				}
			case "port":
				if s.Port == 0 {
					s.Port, _ = strconv.Atoi(kv.value)
				}
			case "identityfile":
				s.IdentityFiles = append(s.IdentityFiles, kv.value)
			}
		}
	}
	return s
}

// hostMatches is OpenSSH's Host line rule: some pattern matches and no
// negated pattern does. Host names are compared in lower case.
func hostMatches(patterns []string, host string) bool {
	host = strings.ToLower(host)
	matched := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.ToLower(strings.TrimPrefix(p, "!"))
		if wildcardMatch(p, host) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

// wildcardMatch matches s against p where * is any run of characters and ?
// one character (no other meta characters, as in ssh_config).
func wildcardMatch(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcardMatch(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// expandPath expands a leading ~ (or ~/) to home and the tokens %d
// (home), %h (remote host), %r (remote user), %u (local user) and %% in
// an IdentityFile value.
func expandPath(p, home, host, user, localUser string) string {
	if p == "~" {
		p = home
	} else if strings.HasPrefix(p, "~/") {
		p = path.Join(home, p[2:])
	}
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		switch p[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(home)
		case 'h':
			b.WriteString(host)
		case 'r':
			b.WriteString(user)
		case 'u':
			b.WriteString(localUser)
		default:
			b.WriteByte('%')
			b.WriteByte(p[i])
		}
	}
	return b.String()
}
