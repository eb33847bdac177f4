// Package node controls and describes the machine k3s runs on: its service
// manager (systemd, OpenRC, or a fake for tests) and the unit's logs, and
// whether a data dir is a k3sca sandbox rather than a real node.
package node
