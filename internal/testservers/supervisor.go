package testservers

import (
	"context"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// Supervisor is the stand-in for a k3s server's supervisor listener that
// the server API tests talk to (spec 8): GET /cacerts serves Bundle; a PUT
// to Path takes basic auth (401 without the server password, 403 for
// another user than "server"), reads ?force and hands the body to Save. A
// Save error is answered as k3s answers it (SendErrorWithID), 204 else.
// What Save does is the test's: k3s validates the set and stores it.
type Supervisor struct {
	// Bundle is the server CA bundle /cacerts serves.
	Bundle []byte
	// Path is the product's rotate-ca endpoint (product.CACertsPath).
	Path string
	// Password is the server password basic auth must carry.
	Password string
	// Serving is the listener's certificate.
	Serving tls.Certificate
	// Save validates and stores a PUT body.
	Save func(ctx context.Context, body []byte, force bool) error
	// ErrorID is the error ID of a refusal (0: random, as k3s).
	ErrorID int
	// Now stamps the lines k3s logs (zero: the wall clock).
	Now time.Time
	// Refused, when set, gets a refusal's error and the lines k3s logs.
	Refused func(err error, logged []string)
}

// StartSupervisor serves s over TLS on 127.0.0.1 until the test ends and
// returns its URL.
func StartSupervisor(t testing.TB, s Supervisor) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(s.Bundle) })
	mux.HandleFunc(s.Path, s.handleCACerts)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.Serving}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// handleCACerts is k3s's rotate-ca handler: method, auth, force, save.
func (s Supervisor) handleCACerts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	user, pass, ok := r.BasicAuth()
	switch {
	case !ok || pass != s.Password:
		http.Error(w, "not authorized", http.StatusUnauthorized)
		return
	case user != "server":
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	force, _ := strconv.ParseBool(r.FormValue("force"))
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = s.Save(r.Context(), body, force)
	}
	if err != nil {
		id, at := s.ErrorID, s.Now
		if id == 0 {
			id = rand.IntN(99999)
		}
		if at.IsZero() {
			at = time.Now()
		}
		lines := SendErrorWithID(w, r, "certificate", id, err, at)
		if s.Refused != nil {
			s.Refused(err, lines)
		}
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
