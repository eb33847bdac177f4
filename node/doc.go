// Package node controls and describes the machine k3s runs on: its service
// manager (systemd, OpenRC, or a fake for tests) and the unit's logs (the
// error lines of a start, the line of an error ID), whether a data dir is
// a k3sca sandbox rather than a real node, the k3s config file (data dir,
// datastore-endpoint), the data dir's write lock, the k3s version found on
// the node, the wait until a started k3s serves the expected CA, and the
// node's facts for the operator (Describe). It knows no flow and draws
// nothing: steps and the front ends build on it.
package node
