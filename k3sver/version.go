package k3sver

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Version is a k3s or rke2 release, a release candidate or a development
// build.
type Version struct {
	// Product is "k3s" or "rke2".
	Product string `json:"product"`
	// Major, Minor and Patch are the Kubernetes version it is built on.
	Major int `json:"major"`
	Minor int `json:"minor"`
	Patch int `json:"patch"`
	// Pre is the pre-release of a release candidate ("rc1"), "" for a
	// release.
	Pre string `json:"pre,omitempty"`
	// Rev is the product's revision of that Kubernetes patch (+k3s2: 2,
	// +rke2r1: 1); 0 for a development build.
	Rev int `json:"rev,omitempty"`
	// Dev is the commit of a development build (+k3s-e9bb624c), "" for a
	// tagged release.
	Dev string `json:"dev,omitempty"`
	// Commit and Go are what `k3s --version` adds: the build's commit and
	// its Go toolchain ("go1.22.6"); "" when not known.
	Commit string `json:"commit,omitempty"`
	Go     string `json:"go,omitempty"`
}

// ErrNotVersion is a string that is not a k3s or rke2 version.
var ErrNotVersion = errors.New("not a k3s or rke2 version")

var (
	// versionRE is vMAJOR.MINOR.PATCH[-PRE]+BUILD, as k3s and rke2 tag
	// their releases (v1.31.1+k3s1, v1.30.1-rc1+k3s1, v1.30.5+rke2r1) and
	// as a development build names itself (v1.30.5+k3s-e9bb624c).
	// They are compiled on first use: start-up does not pay for them.
	versionRE = lazyRE(`^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?\+([0-9A-Za-z.-]+)$`)
	releaseRE = lazyRE(`^(k3s|rke2r)(\d+)$`)
	devRE     = lazyRE(`^(k3s|rke2)-([0-9a-f]{7,40})$`)
)

// lazyRE compiles expr once, on the first call.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Parse reads a version: a bare tag ("v1.36.3+k3s1", "v1.30.5+rke2r1",
// "v1.30.1-rc1+k3s1"), the gitVersion of the /version endpoint, or the
// output of `k3s --version` / `rke2 --version`:
//
//	k3s version v1.31.1+k3s1 (452dbbc1)
//	go version go1.22.6
func Parse(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Version{}, fmt.Errorf("%w: empty", ErrNotVersion)
	}
	lines := strings.Split(s, "\n")
	first := strings.Fields(lines[0])
	if len(first) >= 3 && first[1] == "version" {
		return parseOutput(first, lines[1:], s)
	}
	if len(first) != 1 || len(lines) != 1 {
		return Version{}, fmt.Errorf("%w: %q", ErrNotVersion, s)
	}
	return parseTag(first[0])
}

// parseOutput reads `<program> version <tag> (<commit>)` and the "go
// version" line after it.
func parseOutput(first, rest []string, s string) (Version, error) {
	v, err := parseTag(first[2])
	if err != nil {
		return Version{}, err
	}
	if first[0] != v.Product {
		return Version{}, fmt.Errorf("%w: %q names program %s but version %s", ErrNotVersion, s, first[0], first[2])
	}
	if len(first) >= 4 {
		v.Commit = strings.Trim(first[3], "()")
	}
	for _, l := range rest {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "go" && f[1] == "version" {
			v.Go = f[2]
		}
	}
	return v, nil
}

func parseTag(tag string) (Version, error) {
	m := versionRE().FindStringSubmatch(tag)
	if m == nil {
		return Version{}, fmt.Errorf("%w: %q (want vMAJOR.MINOR.PATCH+k3sN or +rke2rN)", ErrNotVersion, tag)
	}
	v := Version{Pre: m[4]}
	for i, p := range []*int{&v.Major, &v.Minor, &v.Patch} {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return Version{}, fmt.Errorf("%w: %q: %v", ErrNotVersion, tag, err)
		}
		*p = n
	}
	build := m[5]
	if r := releaseRE().FindStringSubmatch(build); r != nil {
		v.Product = strings.TrimSuffix(r[1], "r")
		v.Rev, _ = strconv.Atoi(r[2])
		return v, nil
	}
	if d := devRE().FindStringSubmatch(build); d != nil {
		v.Product, v.Dev = d[1], d[2]
		return v, nil
	}
	return Version{}, fmt.Errorf("%w: %q: build %q is neither k3sN, rke2rN nor a development build", ErrNotVersion, tag, build)
}

// String is the version's tag: v1.31.1+k3s1, v1.30.1-rc1+k3s1,
// v1.30.5+rke2r1, v1.30.5+k3s-e9bb624c.
func (v Version) String() string {
	s := fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	switch {
	case v.Dev != "":
		return s + "+" + v.Product + "-" + v.Dev
	case v.Product == "rke2":
		return s + "+rke2r" + strconv.Itoa(v.Rev)
	}
	return s + "+k3s" + strconv.Itoa(v.Rev)
}

// Line is the minor line, "v1.31".
func (v Version) Line() string { return fmt.Sprintf("v%d.%d", v.Major, v.Minor) }

// release is the release v is matched as in the table: a release
// candidate as the release it is a candidate for, a development build as
// the first release of its Kubernetes patch (the one it was built after).
func (v Version) release() Version {
	return Version{Product: v.Product, Major: v.Major, Minor: v.Minor, Patch: v.Patch, Rev: max(v.Rev, 1)}
}

// compare orders releases by Kubernetes version, then revision.
func compare(a, b Version) int {
	for _, d := range [][2]int{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}, {a.Rev, b.Rev}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}
