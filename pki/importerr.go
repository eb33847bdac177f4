package pki

// ImportInput names one of the four files GenerateCustomCA imports.
type ImportInput string

// The imported inputs of a custom CA set.
const (
	InputRootCert         ImportInput = "root certificate"
	InputRootKey          ImportInput = "root key"
	InputIntermediateCert ImportInput = "intermediate certificate"
	InputIntermediateKey  ImportInput = "intermediate key"
)

// ImportError is a GenerateCustomCA error about one imported input, so a UI
// can point at the file to fix. Its message is the wrapped error's.
type ImportError struct {
	// Input is the file the error is about.
	Input ImportInput
	// Err is the cause, wrapping a parse or import sentinel.
	Err error
}

// Error implements error.
func (e *ImportError) Error() string { return e.Err.Error() }

// Unwrap gives errors.Is access to the sentinels.
func (e *ImportError) Unwrap() error { return e.Err }

func importErr(in ImportInput, err error) error { return &ImportError{Input: in, Err: err} }
