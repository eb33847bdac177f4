package node

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
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// K3sVersion is the k3s (or rke2) version found on the node, and how.
type K3sVersion = cluster.ProductVersion

// VersionInput is the node DetectK3sVersion looks at.
type VersionInput struct {
	// DataDir is the k3s data dir: a server's or an agent's, whose unit
	// runs the program asked.
	DataDir string
	// Product names the units and the program.
	Product product.Product
	// Services is the node's service manager: it says whether the unit
	// files and PATH of this machine are the node's, or which program its
	// unit runs (ProgramLocator), and where its server answers
	// (SupervisorLocator). nil stands for another node.
	Services ServiceManager
	// ServerURL is the supervisor URL whose /version is asked when no
	// program answers and the service manager names none.
	ServerURL string
	// Now is the clock the server's certificate is checked at (nil:
	// time.Now).
	Now func() time.Time
	// Probe is how the version is looked for (nil: the real commands and
	// endpoint).
	Probe *VersionProbe
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

// DetectK3sVersion finds the version of k3s on the node of in: `<program>
// --version` with the program of the node's unit (its ExecStart, or
// OpenRC's command=; a sandbox's simulated binary), then the product's
// program on PATH (on this machine's own nodes only), then the running
// server's /version endpoint (authenticated with the admin client
// certificate of the data dir: k3s's apiserver does not answer anonymous
// requests). It never fails: an unknown version says what was tried.
func DetectK3sVersion(ctx context.Context, in VersionInput) *K3sVersion {
	if in.Now == nil {
		in.Now = time.Now
	}
	pr := in.Probe.withDefaults()
	unit := in.Product.ServerUnit()
	if !fsutil.DirExists(filepath.Join(product.ServerDir(in.DataDir), pki.TLSDir)) && fsutil.DirExists(filepath.Join(in.DataDir, "agent")) {
		unit = in.Product.AgentUnit()
	}
	probe := cluster.VersionProbe{Files: pr.Files, Run: pr.Run}
	switch pl, ok := in.Services.(ProgramLocator); {
	case ok:
		probe.Program = pl.UnitProgram
	case !onThisMachine(in.Services):
		probe.Program = func(context.Context, string) (string, string, error) {
			return "", "", fmt.Errorf("the service manager %q does not say which program it runs", serviceName(in.Services))
		}
	default:
		probe.LookPath = func(_ context.Context, name string) (string, error) { return pr.LookPath(name) }
	}
	k, tried := cluster.ProgramVersion(ctx, probe, in.Product, unit)
	if k != nil {
		return k
	}
	k, err := serverVersion(ctx, in, pr)
	if err == nil {
		return k
	}
	return cluster.UnknownVersion(in.Product, append(tried, err.Error()))
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

// serverVersion asks the running server's /version, with the data dir's
// admin client certificate, trusting its server CA.
func serverVersion(ctx context.Context, in VersionInput, pr VersionProbe) (*K3sVersion, error) {
	base := in.ServerURL
	if sl, ok := in.Services.(SupervisorLocator); ok {
		url, serving := sl.SupervisorURL(in.Product.ServerUnit())
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
	tc, err := adminTLS(product.ServerDir(in.DataDir), in.Now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cluster.VersionTimeout)
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
	return cluster.FoundVersion(v, "GET "+url), nil
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
