package steps

import (
	"context"

	"github.com/k3sca/k3sca/node"
)

// DetectK3sVersion finds the version of k3s on the node of env
// (node.DetectK3sVersion with env's data dir, product, service manager,
// server URL, clock and probe).
func DetectK3sVersion(ctx context.Context, env Env) *node.K3sVersion {
	return node.DetectK3sVersion(ctx, env.versionInput())
}

// versionInput is what node.DetectK3sVersion looks at on env's node.
func (e Env) versionInput() node.VersionInput {
	return node.VersionInput{DataDir: e.DataDir, Product: e.Product, Services: e.Services, ServerURL: e.ServerURL, Now: e.Now, Probe: e.Versions}
}
