package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExpandedHosts bounds what one Ansible host range may expand to.
const maxExpandedHosts = 4096

// splitHostPort splits an inventory host key the way Ansible's
// parse_address does for YAML inventories: "name:2222" and "[v6]:2222"
// carry a port, a bare IPv6 address (several colons) does not. Colons
// inside a range ("10.0.0.[1:3]") are not port separators.
func splitHostPort(key string) (host string, port string) {
	if strings.HasPrefix(key, "[") {
		if i := strings.LastIndex(key, "]:"); i > 0 && isDigits(key[i+2:]) && !strings.Contains(key[1:i], "[") {
			return key[1:i], key[i+2:]
		}
		if strings.HasSuffix(key, "]") && strings.Count(key, ":") > 1 && !strings.Contains(key[1:len(key)-1], "[") {
			return key[1 : len(key)-1], ""
		}
	}
	colons := 0
	depth := 0
	last := -1
	for i, c := range key {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				colons++
				last = i
			}
		}
	}
	if colons == 1 && isDigits(key[last+1:]) {
		return key[:last], key[last+1:]
	}
	return key, ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// expandHostPattern expands Ansible host ranges: "web[01:03]" is web01,
// web02, web03; "10.0.0.[1:9:4]" steps by 4; "db[a:c]" is alphabetic. A
// name without brackets is itself.
func expandHostPattern(p string) ([]string, error) {
	open := strings.Index(p, "[")
	if open < 0 {
		return []string{p}, nil
	}
	closeIdx := strings.Index(p[open:], "]")
	if closeIdx < 0 {
		return nil, fmt.Errorf("host pattern %q: %w: unclosed [", p, ErrBadInventory)
	}
	closeIdx += open
	head, body, tail := p[:open], p[open+1:closeIdx], p[closeIdx+1:]
	parts := strings.Split(body, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("host pattern %q: %w: want [start:end] or [start:end:step]", p, ErrBadInventory)
	}
	step := 1
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("host pattern %q: %w: bad step %q", p, ErrBadInventory, parts[2])
		}
		step = s
	}
	items, err := rangeItems(p, parts[0], parts[1], step)
	if err != nil {
		return nil, err
	}
	rest, err := expandHostPattern(tail)
	if err != nil {
		return nil, err
	}
	if len(items)*len(rest) > maxExpandedHosts {
		return nil, fmt.Errorf("host pattern %q: %w: more than %d hosts", p, ErrBadInventory, maxExpandedHosts)
	}
	var out []string
	for _, it := range items {
		for _, r := range rest {
			out = append(out, head+it+r)
		}
	}
	return out, nil
}

// rangeItems is the list a [start:end:step] range stands for.
func rangeItems(p, start, end string, step int) ([]string, error) {
	if isDigits(end) && (start == "" || isDigits(start)) {
		if start == "" {
			start = "0"
		}
		lo, _ := strconv.Atoi(start)
		hi, _ := strconv.Atoi(end)
		if lo > hi || hi-lo > maxExpandedHosts {
			return nil, fmt.Errorf("host pattern %q: %w: bad range %s:%s", p, ErrBadInventory, start, end)
		}
		width := 0
		if len(start) > 1 && start[0] == '0' {
			width = len(start)
		}
		var out []string
		for i := lo; i <= hi; i += step {
			out = append(out, fmt.Sprintf("%0*d", width, i))
		}
		return out, nil
	}
	if len(start) == 1 && len(end) == 1 && isLowerAlpha(start[0]) && isLowerAlpha(end[0]) && start <= end {
		var out []string
		for c := start[0]; c <= end[0]; c += byte(step) {
			out = append(out, string(c))
			if int(c)+step > 'z' {
				break
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("host pattern %q: %w: bad range %s:%s", p, ErrBadInventory, start, end)
}

func isLowerAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
