package ui

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/k3sca/k3sca/steps"
	"github.com/k3sca/k3sca/steps/render"
)

// RunPlain runs the wizard line by line, for terminals that cannot draw a
// full screen and for scripts: a numbered menu, one prompt per visible
// field with its default in brackets, then the flow through a
// steps.Runner whose questions read the answer from in (default No; the
// exact word when a step asks for one). Token lines stay hidden unless the
// operator asks at the end. It loops back to the menu until "q" or the
// end of in.
func RunPlain(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	return runPlain(ctx, cfg, in, out, deps{})
}

func runPlain(ctx context.Context, cfg Config, in io.Reader, out io.Writer, d deps) error {
	if d.detect == nil {
		d.detect = detectNode
	}
	p := &plain{cfg: cfg, env: cfg.Env.WithDefaults(), in: bufio.NewReader(in), out: out, dry: cfg.DryRun, detect: d.detect}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		spec, ok := p.menu(ctx)
		if !ok {
			return ctx.Err()
		}
		p.run(ctx, spec)
	}
}

// plain is the line-by-line wizard.
type plain struct {
	cfg    Config
	env    steps.Env
	in     *bufio.Reader
	out    io.Writer
	dry    bool
	eof    bool
	detect func(context.Context, steps.Env) facts
	// lines are the lines of in, read by a goroutine of their own (see
	// ask); nil until the first question.
	lines chan inputLine
}

// inputLine is a line read from the input, or the error that ended it.
type inputLine struct {
	text string
	err  error
}

func (p *plain) printf(format string, args ...any) { fmt.Fprintf(p.out, format, args...) }

// ask prints prompt and reads one line; ok is false at the end of input
// and once ctx ends (ctrl+c, SIGTERM, the SIGHUP of a dropped SSH
// session), which a question does not wait out: the line is read by a
// goroutine of its own, which the answer is taken from.
func (p *plain) ask(ctx context.Context, prompt string) (string, bool) {
	if ctx.Err() != nil {
		return "", false
	}
	p.printf("%s", prompt)
	if p.eof {
		p.printf("\n")
		return "", false
	}
	if p.lines == nil {
		p.lines = make(chan inputLine)
		go func() {
			for {
				text, err := p.in.ReadString('\n')
				p.lines <- inputLine{text, err}
				if err != nil {
					return
				}
			}
		}()
	}
	var l inputLine
	select {
	case l = <-p.lines:
	case <-ctx.Done():
		p.printf("\n")
		return "", false
	}
	if l.err != nil {
		p.eof = true
		if l.text == "" {
			p.printf("\n")
			return "", false
		}
	}
	return strings.TrimSpace(l.text), true
}

// menu shows the node, the mode and the flows and reads a choice; ok is
// false when the operator quits.
func (p *plain) menu(ctx context.Context) (steps.FlowSpec, bool) {
	for {
		f := p.detect(ctx, p.env)
		if f.Source == "" {
			f.Source = p.cfg.DataDirSource
		}
		head := "k3sca · " + f.line(p.env.Product.Name())
		if p.cfg.Sandbox || f.Sandbox {
			head += " · sandbox"
		}
		if p.dry {
			head += " · DRY RUN"
		}
		p.printf("\n%s\n\nWhat do you want to do?\n", head)
		for i, s := range p.cfg.Specs {
			p.printf("  %d. %s\n", i+1, s.Title)
			if s.Summary != "" {
				p.printf("     %s\n", s.Summary)
			}
		}
		mode := "turn dry run on (steps that write are only previewed)"
		if p.dry {
			mode = "turn dry run off (now on: nothing is written)"
		}
		p.printf("  d. %s\n  q. quit\n", mode)
		ans, ok := p.ask(ctx, fmt.Sprintf("choice [1-%d, d, q]: ", len(p.cfg.Specs)))
		switch {
		case !ok || ans == "q":
			return steps.FlowSpec{}, false
		case ans == "d":
			p.dry = !p.dry
			continue
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(p.cfg.Specs) {
			return p.cfg.Specs[n-1], true
		}
		p.printf("unknown choice %q\n", ans)
	}
}

// values prompts for each visible field until the spec accepts them;
// ok is false at the end of input.
func (p *plain) values(ctx context.Context, spec steps.FlowSpec) (map[string]string, bool) {
	vals := spec.InitialValues(p.env)
	for {
		for _, fd := range spec.Fields {
			if !fd.Visible(vals) {
				continue
			}
			if fd.Help != "" {
				p.printf("  %s\n", fd.Help)
			}
			if fd.Kind == steps.FieldBackup {
				p.listBackups()
			}
			ans, ok := p.ask(ctx, fieldPrompt(fd, vals[fd.Key]))
			if !ok {
				return nil, false
			}
			switch ans {
			case "":
			case "-":
				vals[fd.Key] = ""
			default:
				vals[fd.Key] = ans
			}
		}
		err := spec.CheckValues(vals)
		if err == nil {
			return vals, true
		}
		p.printf("✗ %v\n", err)
	}
}

// listBackups prints the data dir's backups, newest first, one line
// each, whole: what a backup field takes.
func (p *plain) listBackups() {
	list, err := steps.ListBackupEntries(p.env.DataDir)
	switch {
	case err != nil:
		p.printf("  ✗ backups: %v\n", err)
	case len(list) == 0:
		p.printf("  no backups in %s yet\n", steps.BackupDir(p.env.DataDir))
	}
	for _, e := range list {
		created, status, flow := "unknown time", e.Status(), "-"
		if !e.Created.IsZero() {
			created = e.Created.UTC().Format("2006-01-02 15:04:05Z")
		}
		if e.Incomplete {
			status += " (cannot be restored)"
		}
		if e.Flow != "" {
			flow = e.Flow
		}
		p.printf("  %s  rev %d  flow %s  CA hash %s  %s  %s\n", created, e.Revision, flow, shortHash(e.CAHash), status, e.Path)
	}
}

// fieldPrompt is "Label (choices) [default]: ".
func fieldPrompt(fd steps.Field, def string) string {
	var b strings.Builder
	b.WriteString(fd.Label)
	switch fd.Kind {
	case steps.FieldChoice:
		b.WriteString(" (" + strings.Join(fd.Choices, "/") + ")")
	case steps.FieldList:
		b.WriteString(" (comma-separated, empty: all)")
	}
	if fd.Optional {
		b.WriteString(" (optional, - for none)")
	}
	if def != "" {
		b.WriteString(" [" + def + "]")
	}
	b.WriteString(": ")
	return b.String()
}

// run asks for the inputs, builds the flow and runs it with a Runner.
func (p *plain) run(ctx context.Context, spec steps.FlowSpec) {
	p.printf("\n== %s\n", spec.Title)
	vals, ok := p.values(ctx, spec)
	if !ok {
		return
	}
	if spec.Build == nil {
		p.printf("✗ %v\n", errNoBuild)
		return
	}
	env := p.env
	env.DryRun = p.dry
	f, err := spec.Build(ctx, env, vals)
	if err != nil {
		p.failed(err)
		return
	}
	r := &steps.Runner{Out: p.out, Ask: plainAsker{p}, DryRun: p.dry, SecretHint: "hidden: you are asked at the end whether to show it", Render: render.Data}
	rep, err := r.Run(ctx, f)
	switch {
	case errors.Is(err, steps.ErrDeclined):
		p.printf("✗ not confirmed: nothing from that step on was done.\n")
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		p.printf("✗ interrupted\n")
	case err != nil:
		p.failed(err)
	}
	p.secrets(ctx, rep)
}

// failed prints an error and the next move.
func (p *plain) failed(err error) {
	p.printf("✗ %v\n", err)
	if h := hintFor(err); h != "" {
		p.printf("next: %s\n", h)
	}
}

// secrets offers to print the token lines the Runner masked.
func (p *plain) secrets(ctx context.Context, rep steps.Report) {
	if !hasSecrets(rep.Steps) {
		return
	}
	if ans, _ := p.ask(ctx, "show the full token? [y/N] "); !isYes(ans) {
		return
	}
	for _, r := range rep.Steps {
		if r.Outcome != nil {
			for _, l := range r.Outcome.Secret {
				p.printf("  %s\n", l)
			}
		}
	}
}

func isYes(s string) bool { return s == "y" || s == "Y" || s == "yes" }

// plainAsker reads the answers to the Runner's questions.
type plainAsker struct{ p *plain }

// Confirm implements steps.Asker: "y" (or "yes") confirms a yes/no
// question, the exact word a typed one; anything else, an empty line or
// the end of input answers No. Once ctx ends the question returns its
// error: the flow is interrupted, as by ctrl+c in the wizard.
func (a plainAsker) Confirm(ctx context.Context, step int, title, word string) (bool, error) {
	var prompt string
	switch {
	case step == 0:
		// Not a step of the flow: an offer at its end.
		prompt = fmt.Sprintf("%s? [y/N] ", title)
	case word == "":
		prompt = fmt.Sprintf("step %d: run %q? [y/N] ", step, title)
	default:
		prompt = fmt.Sprintf("step %d: type %q to run %q (anything else answers No): ", step, word, title)
	}
	ans, _ := a.p.ask(ctx, prompt)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if word != "" {
		return ans == word, nil
	}
	return isYes(ans), nil
}
