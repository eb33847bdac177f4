package steps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// K3sVersion is the k3s (or rke2) version found on the node, and how.
type K3sVersion struct {
	// Version is the tag ("v1.36.3+k3s1"); "" when it is unknown.
	Version string `json:"version,omitempty"`
	// Source says how it was found: the command run, or the endpoint.
	Source string `json:"source,omitempty"`
	// Unknown says why it is not known: what was tried, and how to find
	// out.
	Unknown string `json:"unknown,omitempty"`

	parsed *k3sver.Version
}

// Parsed is the version, nil when unknown.
func (k *K3sVersion) Parsed() *k3sver.Version {
	if k == nil {
		return nil
	}
	return k.parsed
}

// Line is the version in one line for the operator.
func (k *K3sVersion) Line(p product.Product) string {
	if k == nil || k.parsed == nil {
		why := "not looked for"
		if k != nil {
			why = k.Unknown
		}
		return p.Name() + " version unknown: " + why
	}
	return fmt.Sprintf("%s %s (from %s)", p.Name(), k.Version, k.Source)
}

// VersionProbe is how the version is looked for; a nil field is the real
// thing. Tests pin every field.
type VersionProbe struct {
	// Files reads the unit files (nil: this machine's /).
	Files cluster.Files
	// Run runs argv and returns its stdout (nil: os/exec, bounded).
	Run func(ctx context.Context, argv []string) ([]byte, error)
	// LookPath finds a program on PATH (nil: exec.LookPath).
	LookPath func(name string) (string, error)
	// Get fetches url with tc and returns the status and body (nil:
	// net/http, bounded).
	Get func(ctx context.Context, url string, tc *tls.Config) (int, []byte, error)
}

// versionTimeout bounds each way of asking for the version.
const versionTimeout = 3 * time.Second

func (p *VersionProbe) withDefaults() VersionProbe {
	var v VersionProbe
	if p != nil {
		v = *p
	}
	if v.Files == nil {
		v.Files = &remote.Local{}
	}
	if v.Run == nil {
		v.Run = func(ctx context.Context, argv []string) ([]byte, error) {
			return exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
		}
	}
	if v.LookPath == nil {
		v.LookPath = exec.LookPath
	}
	if v.Get == nil {
		v.Get = httpGet
	}
	return v
}

// ProgramLocator is implemented by a service manager that knows the
// program its unit runs without unit files: the sandbox's, whose
// simulated k3s binary lives in its data dir.
type ProgramLocator interface {
	UnitProgram(ctx context.Context, unit string) (program, source string, err error)
}

// DetectK3sVersion finds the version of k3s on the node of env: `<program>
// --version` with the program of the node's unit (its ExecStart, or
// OpenRC's command=; a sandbox's simulated binary), then the product's
// program on PATH (on this machine's own nodes only), then the running
// server's /version endpoint (authenticated with the admin client
// certificate of the data dir: k3s's apiserver does not answer anonymous
// requests). It never fails: an unknown version says what was tried.
func DetectK3sVersion(ctx context.Context, env Env) *K3sVersion {
	env = env.WithDefaults()
	pr := env.Versions.withDefaults()
	unit := env.Product.ServerUnit()
	if !dirExists(filepath.Join(product.ServerDir(env.DataDir), pki.TLSDir)) && dirExists(filepath.Join(env.DataDir, "agent")) {
		unit = env.Product.AgentUnit()
	}
	var tried []string
	program, source, err := unitProgram(ctx, env, pr, unit)
	if err == nil {
		if k, err := runVersion(ctx, pr, program, source); err == nil {
			return k
		} else {
			tried = append(tried, err.Error())
		}
	} else {
		tried = append(tried, err.Error())
	}
	if onThisMachine(env.Services) {
		name := env.Product.Name()
		if path, err := pr.LookPath(name); err != nil {
			tried = append(tried, name+" is not on PATH")
		} else if path != program {
			if k, err := runVersion(ctx, pr, path, "PATH"); err == nil {
				return k
			} else {
				tried = append(tried, err.Error())
			}
		}
	}
	k, err := serverVersion(ctx, env, pr)
	if err == nil {
		return k
	}
	tried = append(tried, err.Error())
	return &K3sVersion{Unknown: strings.Join(tried, "; ") + fmt.Sprintf("; see it with `%s --version` on this node", env.Product.Name())}
}

// unitProgram is the program the node's unit runs.
func unitProgram(ctx context.Context, env Env, pr VersionProbe, unit string) (string, string, error) {
	if pl, ok := env.Services.(ProgramLocator); ok {
		return pl.UnitProgram(ctx, unit)
	}
	if !onThisMachine(env.Services) {
		return "", "", fmt.Errorf("unit %s: the service manager %q does not say which program it runs", unit, serviceName(env.Services))
	}
	program, source, err := cluster.UnitProgram(ctx, pr.Files, env.Product, unit)
	if err != nil {
		return "", "", fmt.Errorf("unit %s: %w", unit, err)
	}
	return program, source, nil
}

// onThisMachine reports whether s controls this machine's own units
// (systemd, OpenRC): only then are this machine's unit files and PATH the
// node's. A sandbox or a test's fake stands for another node.
func onThisMachine(s ServiceManager) bool {
	switch s.(type) {
	case Systemd, OpenRC, *Systemd, *OpenRC:
		return true
	}
	return false
}

func serviceName(s ServiceManager) string {
	if s == nil {
		return "none"
	}
	return s.Name()
}

func runVersion(ctx context.Context, pr VersionProbe, program, source string) (*K3sVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	out, err := pr.Run(ctx, []string{program, "--version"})
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", program, err)
	}
	v, err := k3sver.Parse(string(out))
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", program, err)
	}
	return &K3sVersion{Version: v.String(), Source: fmt.Sprintf("%s --version, %s", program, source), parsed: &v}, nil
}

// serverVersion asks the running server's /version, with the data dir's
// admin client certificate, trusting its server CA.
func serverVersion(ctx context.Context, env Env, pr VersionProbe) (*K3sVersion, error) {
	base := env.ServerURL
	if sl, ok := env.Services.(SupervisorLocator); ok {
		url, serving := sl.SupervisorURL(env.Product.ServerUnit())
		if !serving {
			return nil, errors.New("no server serves /version here")
		}
		if url != "" {
			base = url
		}
	}
	if base == "" {
		return nil, errors.New("no server URL for /version")
	}
	url := strings.TrimRight(base, "/") + "/version"
	tc, err := adminTLS(product.ServerDir(env.DataDir), env.Now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	status, body, err := pr.Get(ctx, url, tc)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", url, err)
	case status != http.StatusOK:
		return nil, fmt.Errorf("%s: HTTP %d", url, status)
	}
	var info struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	v, err := k3sver.Parse(info.GitVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return &K3sVersion{Version: v.String(), Source: "GET " + url, parsed: &v}, nil
}

// adminTLS is the TLS config of the admin client: server/tls/client-admin
// certificate and key, and the server CA as the only root, verified at now.
func adminTLS(server string, now func() time.Time) (*tls.Config, error) {
	tlsDir := filepath.Join(server, pki.TLSDir)
	pair, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "client-admin.crt"), filepath.Join(tlsDir, "client-admin.key"))
	if err != nil {
		return nil, fmt.Errorf("admin client certificate: %w", err)
	}
	ca, err := os.ReadFile(pki.ServerCAPath(server))
	if err != nil {
		return nil, fmt.Errorf("server CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("server CA %s: no certificate", pki.ServerCAPath(server))
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12, Time: now}, nil
}

func httpGet(ctx context.Context, url string, tc *tls.Config) (int, []byte, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, body, err
}
