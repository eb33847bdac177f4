// Package testkit holds what the tests of every package share: the one
// pinned clock, the shared testdata and file and database snapshots. Only
// test code imports it.
package testkit

import "time"

// Now is the pinned clock of the tests: every certificate, datastore stamp
// and file mtime that code under test makes comes from it (or from a time
// derived from it), never from the wall clock, so the tests pass on any
// date. TestDateIndependence in steps runs a whole rotation at other dates.
var Now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// Clock is the pinned clock as a func, for the fields and parameters that
// take one: it reads Now when called.
func Clock() time.Time { return Now }
