package steps

import (
	"errors"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/node"
)

// hint adds to a SQLITE_BUSY error the processes that have state.db open
// and what to do; other errors are returned as they are.
func (a Access) hint(err error) error {
	if !errors.Is(err, datastore.ErrBusy) || a.SQLitePath == "" {
		return err
	}
	who := "no other process has it open now (it may have ended)"
	if holders := node.FileHolders(a.SQLitePath); len(holders) > 0 {
		who = "open in " + strings.Join(holders, ", ")
	}
	wait := "the default " + datastore.DefaultBusyTimeout.String()
	if a.Timeout > 0 {
		wait = a.Timeout.String()
	}
	return fmt.Errorf("%w; waited %s; %s is %s. k3s (kine) running on it, another k3sca (see %s) or a sqlite3 shell holds a lock: "+
		"stop k3s or let the other process end, then run again (--timeout waits longer)",
		err, wait, a.SQLitePath, who, node.LockPath(a.DataDir))
}
