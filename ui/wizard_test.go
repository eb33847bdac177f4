package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// openItem waits for the menu and opens the item n places below the first.
func openItem(s *session, n int) {
	s.waitFor("What do you want to do?")
	s.key(tea.KeyDown, n)
	s.key(tea.KeyEnter, 1)
}

// toYesNo opens the rotate flow, starts it with the default values and
// waits for its first question (yes/no, step 2).
func toYesNo(s *session) {
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("Run it? [y/N]")
}

// toWord answers yes at step 2 and waits for the typed-word question of step 5.
func toWord(s *session) {
	toYesNo(s)
	s.typ("y")
	s.key(tea.KeyEnter, 1)
	s.waitFor(`Type "load"`)
}

// toEnd confirms every step of the rotate flow and waits for its end.
func toEnd(s *session) {
	toWord(s)
	s.typ("load")
	s.key(tea.KeyEnter, 1)
	s.waitFor("✓ done")
}

// goldenScreens drive the wizard on the test flows to one screen each.
var goldenScreens = []struct {
	name  string
	drive func(s *session)
}{
	{"menu", func(s *session) { s.waitFor("Rotate the test CAs") }},
	{"form-completion", func(s *session) {
		openItem(s, menuRotate)
		s.waitFor("▸ Staging dir")
		s.key(tea.KeyDown, 1)
		s.key(tea.KeyRight, 1)
		s.waitFor("[import]")
		s.key(tea.KeyDown, 1)
		s.typ("ro")
		s.key(tea.KeyTab, 1)
		s.waitFor("3 matches:")
	}},
	{"question-yes-no", toYesNo},
	{"question-word", func(s *session) {
		toWord(s)
		s.typ("lo")
		s.waitFor("> lo")
	}},
	{"declined", func(s *session) {
		toWord(s)
		s.key(tea.KeyEsc, 1)
		s.waitFor("not confirmed")
	}},
	{"failed", func(s *session) {
		openItem(s, menuBroken)
		s.waitFor("Run it? [y/N]")
		s.typ("y")
		s.key(tea.KeyEnter, 1)
		s.waitFor("rolled back")
	}},
	{"dry-run-end", func(s *session) {
		s.waitFor("What do you want to do?")
		s.typ("d")
		s.waitFor("[DRY RUN]")
		s.key(tea.KeyDown, menuRotate)
		s.key(tea.KeyEnter, 1)
		s.waitFor("▸ Staging dir")
		s.key(tea.KeyCtrlS, 1)
		s.waitFor("dry run: nothing was written")
	}},
	{"token-revealed", func(s *session) {
		toEnd(s)
		if strings.Contains(s.drawn.String(), testSecret[:12]) {
			s.t.Fatal("the token was drawn before t was pressed")
		}
		s.key(tea.KeyPgDown, 4)
		s.typ("t")
		s.waitFor("t hide token")
	}},
	{"check-table", func(s *session) {
		openItem(s, menuInventory)
		s.waitFor("✓ done")
	}},
	{"flow-help", func(s *session) {
		toYesNo(s)
		s.typ("?")
		s.waitFor("Keys")
	}},
	{"full-help", func(s *session) {
		s.waitFor("What do you want to do?")
		s.typ("?")
		s.waitFor("ctrl+c")
	}},
}

func TestGolden(t *testing.T) {
	for _, sc := range goldenScreens {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				s := start(t, testConfig(&probe{}), size[0], size[1])
				sc.drive(s)
				view := s.finalView()
				requireFits(t, view, size[0], size[1])
				requireGolden(t, view, false)
			})
		}
	}
}

func TestGoldenTooSmall(t *testing.T) {
	for _, size := range [][2]int{{79, 24}, {120, 23}, {60, 20}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := start(t, testConfig(&probe{}), size[0], size[1])
			s.waitFor("terminal too small")
			view := s.finalView()
			if !strings.Contains(view, "k3sca --plain") || !strings.HasPrefix(view, "terminal too small") {
				t.Errorf("the too-small screen does not name --plain:\n%s", view)
			}
			requireFits(t, view, size[0], strings.Count(view, "\n")+1)
			requireGolden(t, view, false)
		})
	}
}

// TestGoldenResize draws the yes/no question at one size, resizes the
// terminal to the other and goldens the redrawn screen.
func TestGoldenResize(t *testing.T) {
	for i, size := range sizes {
		from := sizes[1-i]
		t.Run(fmt.Sprintf("%dx%d-to-%dx%d", from[0], from[1], size[0], size[1]), func(t *testing.T) {
			s := start(t, testConfig(&probe{}), from[0], from[1])
			toYesNo(s)
			s.tm.Send(tea.WindowSizeMsg{Width: 60, Height: 20})
			s.waitFor("terminal too small")
			s.tm.Send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			s.waitFor("Run it? [y/N]")
			view := s.finalView()
			requireFits(t, view, size[0], size[1])
			requireGolden(t, view, false)
		})
	}
}

// requireFits fails unless view is exactly h lines of at most w cells.
func requireFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d:\n%s", len(lines), h, view)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > w {
			t.Errorf("line %q is %d wide, more than %d", l, n, w)
		}
	}
}
