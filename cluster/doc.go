// Package cluster knows the nodes of a k3s (or rke2) cluster and where each
// node keeps its join token, for the rollout that follows a CA rotation.
//
// A node that joined with a full token (K10<CA hash>::<user>:<password>)
// checks the hash against the cluster CA at every start; after a rotation
// it fails with "token CA hash does not match the Cluster CA certificate
// hash" unless the hash is changed wherever the node keeps its token. The
// package has three parts:
//
//   - Topology: the nodes, from a k3s-ansible inventory (ParseInventory)
//     or --node flags (ParseNodeFlag), each fact with its source, and the
//     rollout order (RolloutOrder).
//   - Probe: every place a node keeps its token (config files, environment
//     files, unit files, OpenRC scripts, token files), read through the
//     small read-only Files interface.
//   - PlanEdits: the new content of each file that changes only the CA hash
//     of the token, and a diff for the screen.
//
// Nothing here prints a password: every String, GoString and Error method
// and every diff shows tokens through pki.Token.Masked.
package cluster
