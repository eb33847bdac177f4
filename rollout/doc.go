// Package rollout carries a CA change to every node of a cluster after the
// datastore holds it, in k3s's order: every server one at a time, then
// every agent. Per node it probes where the join token lives (package
// cluster), rewrites the CA hash of each full token (a backup beside each
// file), restarts the service and waits until the node shows the new CA:
// a server's supervisor serves it on /cacerts with a serving certificate
// that chains to it, an agent's CA file holds it. The first failure stops
// the rollout with the nodes after it untouched.
//
// A run is resumable from what the nodes say, not from a state file: a
// node whose tokens already hold the new hash and that already shows the
// new CA is done and left alone, so running again after a failure or a
// crash does only what is left, and no file is edited twice.
//
// A leaf-certificate rotation (Options.Leaf) goes the same way, node by
// node, doing on each what `k3s certificate rotate` does there; see Leaf
// for when a node counts as done.
//
// Each node's service state is read first: a node found stopped gets its
// files in line but is not started (StateStopped). The undo of a rollout
// (Options.PutBack, after a datastore restore) puts each token file back
// from the backup the rollout made, refusing a file changed since, then
// restarts and checks the nodes in the same order.
package rollout
