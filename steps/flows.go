package steps

import (
	"fmt"
	"path/filepath"
)

// Flow IDs, as `k3sca run <id>` takes them.
const (
	FlowCheck            = "check"
	FlowRotateCerts      = "rotate-certs"
	FlowCustomCA         = "custom-ca"
	FlowRotateCustomCA   = "rotate-custom-ca"
	FlowRotateCA         = "rotate-ca"
	FlowRotateServiceKey = "rotate-service-key"
	FlowDatastore        = "datastore"
	FlowLoad             = "load"
	FlowRollout          = "rollout"
)

// Flows is the menu: every operation of the wizard and of `k3sca run`,
// each defined in its own flow_<id>.go.
func Flows() []FlowSpec {
	return []FlowSpec{
		checkSpec(),
		rotateCertsSpec(),
		customCASpec(),
		rotateCustomCASpec(),
		rotateCASpec(),
		rotateServiceKeySpec(),
		datastoreSpec(),
		loadSpec(),
		rolloutSpec(),
	}
}

// stageDirDefault is a fresh staging dir under the stage root.
func stageDirDefault(kind string) Default {
	return func(env Env) string {
		return filepath.Join(env.StageRoot, fmt.Sprintf("k3sca-%s-%d", kind, env.Now().Unix()))
	}
}

// The staged dir has one spelling on the command line, --path, as in
// `k3s certificate rotate-ca --path`: where a flow stages its set, and
// where the load flow reads one.
var stageField = Field{Key: "path", Label: "staging dir", Kind: FieldDir, Aliases: []string{"stage-dir"},
	Help: "a new or empty dir for the new files (the --path of rotate-ca); never the live server/tls"}

// importFields are the custom CA's root and intermediate inputs.
func importFields(rootRequired bool) []Field {
	return []Field{
		{Key: "root-cert", Label: "root cert", Kind: FieldPath, Optional: !rootRequired,
			Help: "PEM root CA certificate" + map[bool]string{true: "", false: "; empty: generate a new root"}[rootRequired]},
		{Key: "root-key", Label: "root key", Kind: FieldPath, Optional: true,
			Help: "its key, only to sign a generated intermediate; empty when the intermediate is imported"},
		{Key: "intermediate-cert", Label: "intermediate cert", Kind: FieldPath, Optional: true,
			Help: "PEM intermediate CA signed by the root; empty: generate one with the root key"},
		{Key: "intermediate-key", Label: "intermediate key", Kind: FieldPath, Optional: true,
			Help: "the intermediate's unencrypted PEM key"},
	}
}

// noCurrent validates against the live data dir.
func noCurrent() string { return "" }
