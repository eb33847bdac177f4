// Package sandbox simulates a k3s server node in a directory: a data dir as
// k3s leaves it after its first start, a service manager whose start does
// what a k3s server start does to it (SimulateRestart), its supervisor
// listener on 127.0.0.1, and clusters of such nodes for the rollout. It
// plays k3s's part, so it reads the datastore and the token as k3s does,
// not through k3sca's own steps.
package sandbox
