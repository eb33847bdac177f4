package testkit

import (
	"slices"
	"testing"
	"time"
)

// ReportSpread reports min, median and max of ds in milliseconds as the
// benchmark's metrics prefix+"min-ms", "median-ms" and "max-ms", and
// returns the median (0 without runs).
func ReportSpread(b *testing.B, prefix string, ds []time.Duration) time.Duration {
	b.Helper()
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	b.ReportMetric(ms(s[0]), prefix+"min-ms")
	b.ReportMetric(ms(med), prefix+"median-ms")
	b.ReportMetric(ms(s[len(s)-1]), prefix+"max-ms")
	return med
}
