// Package remote is how k3sca reaches the nodes of a cluster: it runs
// commands on a node and reads, inspects and atomically rewrites its files,
// the same way whether the node is the machine k3sca runs on (Local, with an
// optional sandbox Root) or another machine over SSH (SSH, with files over
// SFTP).
//
// Every I/O call takes a context.Context: its deadline bounds the dial and
// each call, and cancelling it aborts the call (over SSH by closing the
// channel the call runs on).
//
// Files may hold secrets (join tokens). The package never logs file
// contents; with a *slog.Logger configured it logs, at debug level, only
// node names, paths and commands (so callers must not put secrets in argv).
// Without a logger it logs nothing.
package remote
