// Package words spells counts in the sentences k3sca prints, the same way
// in the flows and on the wizard's screen.
package words

import "fmt"

// Plural is "1 backup", "2 backups": n and the noun, with an s unless n is 1.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
