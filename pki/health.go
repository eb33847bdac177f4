package pki

import (
	"fmt"
	"math"
	"time"
)

// State is a monitoring verdict with the Nagios plugin API's numbers,
// which are also the exit codes of a plugin.
type State int

// The four plugin states.
const (
	StateOK       State = 0
	StateWarning  State = 1
	StateCritical State = 2
	StateUnknown  State = 3
)

// String is the state's name as a plugin prints it.
func (s State) String() string {
	switch s {
	case StateOK:
		return "OK"
	case StateWarning:
		return "WARNING"
	case StateCritical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// worse reports whether s outranks t, in the order of monitoring-plugins'
// max_state: CRITICAL, then WARNING, then UNKNOWN, then OK.
func (s State) worse(t State) bool {
	rank := map[State]int{StateOK: 0, StateUnknown: 1, StateWarning: 2, StateCritical: 3}
	return rank[s] > rank[t]
}

// Health is the verdict of a check for a monitoring system.
type Health struct {
	// State is the worst state of any certificate; UNKNOWN when a file
	// could not be read and nothing is worse.
	State State
	// Certificates is how many were judged; Warning and Critical how many
	// are in each state.
	Certificates, Warning, Critical int
	// Soonest is the certificate that expires first (nil: none).
	Soonest *CertInfo
	// Unreadable is how many files could not be read.
	Unreadable int
}

// Health judges every certificate of the inventory (k3s's rows, the CA
// files, the admin kubeconfig's and the datastore's) at now: CRITICAL when
// it is expired, not yet valid or expires within crit; WARNING within
// warn; unreadable files make it UNKNOWN unless something is worse.
func (inv *Inventory) Health(now time.Time, warn, crit time.Duration) Health {
	h := Health{Unreadable: len(inv.Unreadable)}
	if inv.KubeconfigUnreadable {
		h.Unreadable++
	}
	if h.Unreadable > 0 {
		h.State = StateUnknown
	}
	for _, list := range [][]CertInfo{inv.Rows, inv.CAs, inv.Kubeconfig, inv.Datastore} {
		for i := range list {
			c := &list[i]
			h.Certificates++
			if h.Soonest == nil || c.NotAfter.Before(h.Soonest.NotAfter) {
				h.Soonest = c
			}
			left := c.NotAfter.Sub(now)
			st := StateOK
			switch {
			case now.Before(c.NotBefore) || left < 0 || left <= crit:
				st = StateCritical
				h.Critical++
			case left <= warn:
				st = StateWarning
				h.Warning++
			}
			if st.worse(h.State) {
				h.State = st
			}
		}
	}
	if h.Certificates == 0 && h.State == StateOK {
		// Nothing to judge is not a healthy node: a wrong data dir.
		h.State = StateUnknown
	}
	return h
}

// Line is the plugin's status line: the state, a summary, and the days
// left of the soonest certificate as performance data.
func (h Health) Line(now time.Time, warn, crit time.Duration) string {
	const day = 24 * time.Hour
	s := fmt.Sprintf("CERTIFICATES %s - %d certificates", h.State, h.Certificates)
	if h.Critical > 0 {
		s += fmt.Sprintf(", %d expired, not yet valid or expiring within %d days", h.Critical, int(crit/day))
	}
	if h.Warning > 0 {
		s += fmt.Sprintf(", %d expiring within %d days", h.Warning, int(warn/day))
	}
	if h.Unreadable > 0 {
		s += fmt.Sprintf(", %d files unreadable", h.Unreadable)
	}
	if h.Certificates == 0 {
		s += " found: is the data dir right (-d)?"
	}
	if h.Soonest == nil {
		return s
	}
	c := h.Soonest
	left := c.NotAfter.Sub(now)
	s += fmt.Sprintf("; first to expire: %s (%s) in %s", c.Path, c.Subject, FormatResidual(left))
	days := math.Floor(left.Hours()/24*10) / 10
	return s + fmt.Sprintf(" | soonest_expiry_days=%.1f;%d;%d", days, int(warn/day), int(crit/day))
}
