package words

import "testing"

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		noun string
		want string
	}{
		{0, "backup", "0 backups"},
		{1, "backup", "1 backup"},
		{2, "bootstrap key", "2 bootstrap keys"},
	}
	for _, tc := range tests {
		if got := Plural(tc.n, tc.noun); got != tc.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}
