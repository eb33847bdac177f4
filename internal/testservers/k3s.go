package testservers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// LogrusLine is one line as k3s logs it to journald or its OpenRC log
// file: logrus's text format, with the full RFC 3339 timestamp and the
// message quoted (%q) because it holds spaces.
func LogrusLine(at time.Time, level, msg string) string {
	return fmt.Sprintf("time=%q level=%s msg=%q", at.UTC().Format(time.RFC3339), level, msg)
}

// SendErrorWithID replies to r as k3s's util.SendErrorWithID does for a
// 500 (pkg/util/apierrors.go): the client gets only
// "<component> error ID <id>" inside a Kubernetes Status
// (apierrors.NewInternalError) with Connection: close; the reason goes
// only to the server's log. It returns the two lines k3s logs, in order.
func SendErrorWithID(w http.ResponseWriter, r *http.Request, component string, id int, err error, at time.Time) []string {
	public := fmt.Sprintf("%s error ID %05d", component, id)
	lines := []string{
		LogrusLine(at, "error", fmt.Sprintf("%s: %v", public, err)),
		LogrusLine(at, "error", fmt.Sprintf("Sending %s %d response to %s: %s", r.Proto, http.StatusInternalServerError, r.RemoteAddr, public)),
	}
	type cause struct {
		Message string `json:"message"`
	}
	status := struct {
		Kind       string         `json:"kind"`
		APIVersion string         `json:"apiVersion"`
		Metadata   struct{}       `json:"metadata"`
		Status     string         `json:"status"`
		Message    string         `json:"message"`
		Reason     string         `json:"reason"`
		Details    map[string]any `json:"details"`
		Code       int            `json:"code"`
	}{
		Kind: "Status", APIVersion: "v1", Status: "Failure", Message: "Internal error occurred: " + public,
		Reason: "InternalError", Details: map[string]any{"causes": []cause{{Message: public}}}, Code: http.StatusInternalServerError,
	}
	body, _ := json.Marshal(status)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("Connection", "close")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(append(body, '\n'))
	return lines
}
