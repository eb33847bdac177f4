package etcdrpc

import (
	"errors"
	"fmt"
)

// Code is a gRPC status code.
type Code uint32

// The gRPC status codes (google.golang.org/grpc/codes).
const (
	OK Code = iota
	Canceled
	Unknown
	InvalidArgument
	DeadlineExceeded
	NotFound
	AlreadyExists
	PermissionDenied
	ResourceExhausted
	FailedPrecondition
	Aborted
	OutOfRange
	Unimplemented
	Internal
	Unavailable
	DataLoss
	Unauthenticated
)

var codeNames = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

// String is the code's name as grpc-go spells it.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint32(c))
}

// StatusError is a call that the server ended with a gRPC status other
// than OK, such as etcd's "etcdserver: permission denied"
// (PermissionDenied) or "etcdserver: request timed out" (Unavailable).
type StatusError struct {
	// Method is the gRPC method, "/etcdserverpb.KV/Range"; Endpoint the
	// server asked.
	Method, Endpoint string
	Code             Code
	// Message is the server's grpc-message, decoded.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("etcd %s at %s: %s: %s", e.Method, e.Endpoint, e.Code, e.Message)
}

// CodeOf is err's gRPC status code: OK for nil, the code of a *StatusError
// in err's chain, Unknown for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return Unknown
}
