package sandbox

// Internals the external tests of this package reach.
var (
	WriteAgentDir            = writeAgentDir
	ReissueMissingAgentCerts = reissueMissingAgentCerts
)

// ServiceFile is the sandbox's recorded service state.
const ServiceFile = sandboxServiceFile
