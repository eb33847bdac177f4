// Package ui is the interactive wizard of k3sca: bubbletea models that ask
// the steps package for plans and results and render them. A model never
// opens a file, a key or a socket; every step call runs in a tea.Cmd.
package ui
