package testkit

import (
	"errors"
	"testing"
)

// ExpectErr fails the test now unless err matches want: errors.Is(err,
// want) when want is set, nil when it is not. It reports whether want was
// set, that is whether the case ends with the error.
func ExpectErr(t testing.TB, err, want error) bool {
	t.Helper()
	if want != nil {
		if !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}
