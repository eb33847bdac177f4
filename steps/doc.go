// Package steps holds k3sca's flows as UI-free steps. Each step can describe
// what it will do as a Plan (data, no side effects) before it runs; a dry run
// renders the plans and stops. The headless commands and the TUI drive the
// same steps.
package steps
