package node

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Node roles as Facts reports them.
const (
	RoleServer = "server"
	RoleAgent  = "agent"
	RoleNone   = "none"
)

// Facts is what k3sca can tell about the node before any flow runs,
// every field in words for the operator.
type Facts struct {
	// DataDir is the data dir looked at; DataDirSource says where it came
	// from (ResolveDataDir's source). Describe leaves the source to the
	// caller, which resolved the dir.
	DataDir, DataDirSource string
	// Role is RoleServer when <data-dir>/server/tls exists, RoleAgent when
	// only <data-dir>/agent does, else RoleNone.
	Role string
	// Datastore is "sqlite (server/db/state.db)", "kine socket", "embedded
	// etcd", "external etcd", "external SQL", "none" or "unknown: <why>".
	Datastore string
	// ServiceState is "running", "stopped" or "unknown: <why>" for the
	// role's unit (the server unit when the role is none).
	ServiceState string
	// Init is the service manager's Name(), or "none".
	Init string
	// CAHash is the join-token CA hash (hex) of server/tls/server-ca.crt, or
	// "" when there is none or it does not parse.
	CAHash string
	// Sandbox is true for a data dir made by `k3sca sandbox`.
	Sandbox bool
	// K3sVersion is the k3s version found (DetectK3sVersion):
	// "v1.36.3+k3s1", or "unknown: <what was tried>".
	K3sVersion string
}

// DescribeInput is the node Describe looks at: the data dir, product,
// service manager and clock of its VersionInput, which also finds the
// k3s version unless K3s is given.
type DescribeInput struct {
	VersionInput
	// K3s is the k3s version found already; nil: Describe looks for it.
	K3s *K3sVersion
	// Datastore names the datastore of a server for Facts.Datastore; it is
	// asked only when the node is a server. nil: "unknown: not looked for".
	Datastore func(ctx context.Context) string
}

// Describe describes the node of in.DataDir. It never fails: what it
// cannot find out is described in the field instead.
func Describe(ctx context.Context, in DescribeInput) Facts {
	if in.Now == nil {
		in.Now = time.Now
	}
	server := product.ServerDir(in.DataDir)
	f := Facts{DataDir: in.DataDir, Role: RoleNone, Datastore: "none", Init: "none", Sandbox: IsSandbox(in.DataDir)}
	switch {
	case fsutil.DirExists(filepath.Join(server, "tls")):
		f.Role = RoleServer
	case fsutil.DirExists(filepath.Join(in.DataDir, "agent")):
		f.Role = RoleAgent
	}
	if f.Role == RoleServer {
		f.Datastore = "unknown: not looked for"
		if in.Datastore != nil {
			f.Datastore = in.Datastore(ctx)
		}
		if b, err := os.ReadFile(pki.ServerCAPath(server)); err == nil {
			if h, err := pki.HashCA(b, in.Now()); err == nil {
				f.CAHash = h.Hex
			}
		}
	}
	f.ServiceState = "unknown: no service manager"
	if in.Services != nil {
		f.Init = in.Services.Name()
		unit := in.Product.ServerUnit()
		if f.Role == RoleAgent {
			unit = in.Product.AgentUnit()
		}
		f.ServiceState = describeService(ctx, in.Services, unit)
	}
	k := in.K3s
	if k == nil {
		k = DetectK3sVersion(ctx, in.VersionInput)
	}
	f.K3sVersion = k.Version
	if k.Version == "" {
		f.K3sVersion = "unknown: " + k.Unknown
	}
	return f
}

func describeService(ctx context.Context, s ServiceManager, unit string) string {
	active, err := s.IsActive(ctx, unit)
	switch {
	case err != nil:
		return "unknown: " + err.Error()
	case active:
		return "running"
	}
	return "stopped"
}
