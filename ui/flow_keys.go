package ui

import (
	"slices"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
)

// key handles a key press in the current phase.
func (f *flowScreen) key(k tea.KeyMsg) tea.Cmd {
	switch f.phase {
	case phAsk:
		return f.answer(k)
	case phEnd:
		switch {
		case key.Matches(k, keys.Back) && f.back != nil && (f.failure() != nil || f.declined()):
			return msgCmd(openMsg{s: f.back()})
		case key.Matches(k, keys.Enter) && f.inventory() != nil:
			v := newOutcomeView(f.com, false)
			return msgCmd(openMsg{s: newCertReport(f.com, f.inventory(), v.tlsDir, f.title, f)})
		case key.Matches(k, keys.Back, keys.Enter):
			return msgCmd(homeMsg{})
		case key.Matches(k, keys.Quit):
			return msgCmd(quitMsg{})
		case key.Matches(k, keys.Reveal) && f.tokensOnScreen():
			f.toggleReveal()
			return nil
		case key.Matches(k, copyKey) && f.com.canCopy() && f.shownToken() != "":
			return copyCmd(f.com.out, f.id, "token", f.shownToken())
		case key.Matches(k, keys.Remove) && len(f.left) > 0:
			return removeCmd(f.id, f.left)
		}
	}
	return f.scroll(k)
}

// scroll passes arrows and page keys to the viewport.
func (f *flowScreen) scroll(k tea.KeyMsg) tea.Cmd {
	if !key.Matches(k, keys.ScrollUp, keys.ScrollDown, keys.PageUp, keys.PageDown) {
		return nil
	}
	var cmd tea.Cmd
	f.vp, cmd = f.vp.Update(k)
	return cmd
}

func (f *flowScreen) toggleReveal() {
	off := f.vp.YOffset
	f.reveal = !f.reveal
	if f.reveal {
		for _, r := range f.reps {
			if r.Outcome != nil {
				f.com.Revealed = appendNew(f.com.Revealed, r.Outcome.Secret...)
			}
		}
	}
	f.refresh()
	f.vp.SetYOffset(off)
}

// answer handles a key at a question. Yes/no: only "y" then enter runs the
// step; enter alone, n and esc answer No. A word: enter runs the step once
// the exact word is typed; esc answers No.
func (f *flowScreen) answer(k tea.KeyMsg) tea.Cmd {
	if key.Matches(k, keys.Back) {
		return f.decline()
	}
	if key.Matches(k, keys.ScrollUp, keys.ScrollDown, keys.PageUp, keys.PageDown) {
		return f.scroll(k)
	}
	if f.prep.Word != "" {
		if key.Matches(k, keys.Enter) {
			if f.word.Submit() {
				f.lastAsk = f.prep.Index
				return f.execute()
			}
		} else {
			f.word.Update(k)
		}
		f.refresh()
		return nil
	}
	switch {
	case key.Matches(k, keys.Yes):
		f.yes = true
	case k.Type == tea.KeyBackspace:
		f.yes = false
	case key.Matches(k, keys.Enter) && f.yes:
		f.lastAsk = f.prep.Index
		return f.execute()
	case key.Matches(k, keys.Enter, keys.No):
		return f.decline()
	case key.Matches(k, keys.Reveal) && f.tokensOnScreen():
		f.toggleReveal()
	}
	f.refresh()
	return nil
}

// Help implements screen.
func (f *flowScreen) Help() keyHelp {
	scroll := []key.Binding{with(keys.ScrollUp, "↑↓ pgup/pgdn", "scroll")}
	reveal := with(keys.Reveal, "t", "show token")
	if f.reveal {
		reveal = with(keys.Reveal, "t", "hide token")
	}
	var h keyHelp
	switch f.phase {
	case phAsk:
		if f.prep.Word != "" {
			no := "no"
			if f.keepsDry() {
				no = "dry run"
			}
			h.short = []key.Binding{with(keys.Enter, "enter", "run"), with(keys.Back, "esc", no), with(wholeKey, "ctrl+o", "whole lines")}
		} else {
			h.short = []key.Binding{keys.Yes, keys.No}
			if f.tokensOnScreen() {
				h.short = append(h.short, reveal)
			}
			h.short = append(h.short, wholeKey)
		}
		h.short = append(h.short, scroll...)
	case phEnd:
		h.short = []key.Binding{with(keys.Back, "esc", "menu")}
		if f.inventory() != nil {
			h.short = append(h.short, with(keys.Enter, "enter", "report"))
		}
		if f.tokensOnScreen() {
			h.short = append(h.short, reveal)
		}
		if len(f.left) > 0 {
			h.short = append(h.short, with(keys.Remove, "x", "remove staged dir"))
		}
		if f.com.canCopy() && f.shownToken() != "" {
			h.short = append(h.short, copyKey)
		}
		h.short = append(h.short, wholeKey)
		h.short = append(h.short, scroll...)
		h.short = append(h.short, keys.Quit)
	default:
		h.short = append(scroll, with(keys.ForceQuit, "ctrl+c", "stop after this step"))
	}
	h.short = append(h.short, with(keys.Help, "?", "help"))
	h.more = []key.Binding{with(keys.ForceQuit, "ctrl+c", "quit (never in the middle of a write)"),
		with(wholeKey, "w/ctrl+o", "print the screen's whole lines (paths, tokens) on the normal screen")}
	return h
}

// inventory is the last certificate inventory the flow's steps reported
// (the check after a rotation, over the one before it); nil when none.
func (f *flowScreen) inventory() *pki.Inventory {
	for i := len(f.reps) - 1; i >= 0; i-- {
		if o := f.reps[i].Outcome; o != nil {
			if inv, ok := o.Data.(*pki.Inventory); ok {
				return inv
			}
		}
	}
	return nil
}

// appendNew appends the lines of add that list does not hold yet.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
