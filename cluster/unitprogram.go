package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/k3sca/k3sca/product"
)

// ErrNoUnitProgram means no unit file or OpenRC script of the unit names
// the program it runs.
var ErrNoUnitProgram = errors.New("no unit names its program")

// UnitProgram is the program the service unit runs, read through f: the
// first word of the last ExecStart of the systemd unit (the first of the
// product's unit dirs holding <unit>.service, as systemd picks it, then its
// drop-ins <unit>.service.d/*.conf in every unit dir, in name order, an
// empty ExecStart= resetting the ones before), else the command= of the
// OpenRC script /etc/init.d/<unit>. source says which file, for the
// operator. A program given by a variable ($ or `) is not taken.
func UnitProgram(ctx context.Context, f Files, p product.Product, unit string) (program, source string, err error) {
	lay := layoutFor(p)
	var files []string
	for _, d := range lay.unitDirs {
		u := path.Join(d, unit+".service")
		if ok, err := exists(ctx, f, u); err != nil {
			return "", "", fmt.Errorf("unit program: %w", err)
		} else if ok {
			files = append(files, u)
			break
		}
	}
	if len(files) > 0 {
		var dropIns []string
		for _, d := range lay.unitDirs {
			m, err := f.Glob(ctx, dropInGlob(path.Join(d, unit+".service")))
			if err != nil {
				return "", "", fmt.Errorf("unit program: %w", err)
			}
			dropIns = append(dropIns, m...)
		}
		slices.SortStableFunc(dropIns, func(a, b string) int { return strings.Compare(path.Base(a), path.Base(b)) })
		files = append(files, dropIns...)
		var last *execStart
		lastFile := ""
		for _, file := range files {
			b, err := f.ReadFile(ctx, file)
			if err != nil {
				return "", "", fmt.Errorf("unit program: %w", err)
			}
			entries := parseUnit(b)
			for _, e := range entries {
				if e.section == "Service" && e.key == "ExecStart" && len(strings.TrimSpace(string(e.value.b))) == 0 {
					last = nil
				}
			}
			if cmds := unitCommands(entries); len(cmds) > 0 {
				last, lastFile = &cmds[len(cmds)-1], file
			}
		}
		if last != nil {
			if w := last.argv[0]; !w.dynamic && len(w.b) > 0 {
				return string(w.b), "ExecStart of " + lastFile, nil
			}
		}
	}
	script := path.Join("/etc/init.d", unit)
	b, err := f.ReadFile(ctx, script)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR):
	case err != nil:
		return "", "", fmt.Errorf("unit program: %w", err)
	default:
		for _, a := range parseAssignments(b, shellQuoting) {
			if a.name == "command" && !a.value.dynamic && len(a.value.b) > 0 {
				return string(a.value.b), "command= of " + script, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w: %s", ErrNoUnitProgram, unit)
}

// exists says whether p is a file on the node (a directory is not).
func exists(ctx context.Context, f Files, p string) (bool, error) {
	_, err := f.ReadFile(ctx, p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR):
		return false, nil
	}
	return false, err
}
