// Package ui is the interactive wizard of k3sca: bubbletea models over the
// flows of package steps. The menu lists the flows (steps.FlowSpec), a form
// asks for a flow's inputs, and a flow screen drives a steps.Session the way
// the headless steps.Runner does: skip, preview, ask before every write
// (default No), execute, roll back. RunPlain asks the same line by line. A
// model never opens a file, a key or a socket: every step call runs in a
// tea.Cmd.
package ui
