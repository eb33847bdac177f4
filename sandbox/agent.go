package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// AgentNode is the node name of a sandbox's own agent.
const AgentNode = "sandbox"

// writeAgentDir writes <dataDir>/agent as a k3s server that also runs an
// agent (the default) has it after its first start: the agent's
// certificates and keys signed by the server's CAs for the agent named node,
// and its copies of client-ca.crt and server-ca.crt (pki.GenerateAgentCerts),
// all mode 0600 like k3s's agent writes them, with opts.Now as mtime. The
// kubeconfigs, containerd and kubelet state of a real agent dir are not
// written: nothing in k3sca reads them.
func writeAgentDir(ctx context.Context, opts pki.GenOptions, dataDir, node string) error {
	set, err := pki.GenerateAgentCerts(ctx, opts, product.ServerDir(dataDir), node)
	if err != nil {
		return fmt.Errorf("sandbox agent dir: %w", err)
	}
	if err := set.Write(ctx, pki.AgentDir(dataDir), opts.Now); err != nil {
		return fmt.Errorf("sandbox agent dir: %w", err)
	}
	return nil
}

// reissueMissingAgentCerts does to <dataDir>/agent what the agent named node
// does at every start, after its server has started, and returns how many
// files it wrote.
//
// A k3s agent re-requests all of its certificates and both CA copies at
// every start, keeping its private keys (it sends a CSR made from each local
// key and makes a key only when the file is missing). The simulation writes
// only what that changes in substance:
//   - always: a pair whose certificate or key is missing or whose certificate
//     does not parse (a leaf rotation removed it), and a missing CA copy;
//   - everything (all four certificates and both CA copies, keys kept) when
//     the CAs changed: a CA copy differs from the server's bundle, or a
//     certificate's AKI differs from the SKI of the first cert of its CA's
//     bundle in server/tls (the CA was rotated or replaced).
//
// Otherwise nothing is written, so a plain restart leaves the agent dir
// untouched instead of renewing unchanged certificates (a real agent would
// rewrite them with a new serial and dates). A data dir without an agent dir
// is a server started with --disable-agent (or a sandbox made before agents
// were simulated): nothing is written there.
func reissueMissingAgentCerts(ctx context.Context, opts pki.GenOptions, dataDir, node string) (int, error) {
	return reissueAgentCerts(ctx, opts, product.ServerDir(dataDir), pki.AgentDir(dataDir), node)
}

// reissueAgentCerts is reissueMissingAgentCerts for the agent dir agent
// of a node whose server (server dir server) may be another node.
func reissueAgentCerts(ctx context.Context, opts pki.GenOptions, server, agent, node string) (int, error) {
	if !fsutil.DirExists(agent) {
		return 0, nil
	}
	set, err := pki.ReissueAgentCerts(ctx, opts, server, agent, node)
	if err != nil {
		return 0, fmt.Errorf("agent start: %w", err)
	}
	changed, stale, err := agentCertState(server, agent, pki.AgentCerts(opts.Product, node))
	if err != nil {
		return 0, fmt.Errorf("agent start: %w", err)
	}
	if !changed {
		var keep []pki.StagedFile
		for _, f := range set.Files {
			if stale[strings.TrimSuffix(f.Path, filepath.Ext(f.Path))] {
				keep = append(keep, f)
			}
		}
		set.Files = keep
	}
	if err := set.Write(ctx, agent, opts.Now); err != nil {
		return 0, fmt.Errorf("agent start: %w", err)
	}
	return len(set.Files), nil
}

// agentCertState compares an agent dir with its server's CAs. changed: a
// CA copy differs from the server's bundle, or a certificate was signed by
// another CA than the first of its bundle (AKI differs from that SKI). stale
// holds the file stems ("client-kubelet", "server-ca") an agent start must
// write even when nothing changed: missing files and unparsable certificates.
func agentCertState(server, agent string, certs []pki.AgentCert) (changed bool, stale map[string]bool, err error) {
	stale = map[string]bool{}
	ski := map[string][]byte{}
	for _, c := range []struct{ field, copy string }{{"ClientCA", pki.AgentClientCA}, {"ServerCA", pki.AgentServerCA}} {
		f, _ := pki.Field(c.field)
		want, err := os.ReadFile(f.Abs(server))
		if err != nil {
			return false, nil, fmt.Errorf("read %s CA: %w", c.field, err)
		}
		bundle, err := pki.ParseCertsPEM(want)
		if err != nil {
			return false, nil, fmt.Errorf("%s: %w", f.Abs(server), err)
		}
		ski[c.field] = bundle[0].SubjectKeyId
		have, err := os.ReadFile(filepath.Join(agent, c.copy))
		switch {
		case os.IsNotExist(err):
			stale[strings.TrimSuffix(c.copy, ".crt")] = true
		case err != nil:
			return false, nil, fmt.Errorf("read agent CA copy: %w", err)
		case !bytes.Equal(have, want):
			changed = true
		}
	}
	for _, c := range certs {
		if !fsutil.FileExists(filepath.Join(agent, c.Name+".key")) {
			stale[c.Name] = true
		}
		data, err := os.ReadFile(filepath.Join(agent, c.Name+".crt"))
		if os.IsNotExist(err) {
			stale[c.Name] = true
			continue
		}
		if err != nil {
			return false, nil, fmt.Errorf("read agent certificate: %w", err)
		}
		leaf, err := pki.ParseCertsPEM(data)
		if err != nil {
			stale[c.Name] = true
			continue
		}
		if !bytes.Equal(leaf[0].AuthorityKeyId, ski[c.CA]) {
			changed = true
		}
	}
	return changed, stale, nil
}
