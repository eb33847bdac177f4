// Package k3sver parses k3s and rke2 version strings and holds the one
// table of the k3s versions that matter to what k3sca does: which flows or
// paths it refuses, what it warns about, and the renewal window. It does no
// I/O; steps finds the version on a node and asks Decide.
package k3sver
