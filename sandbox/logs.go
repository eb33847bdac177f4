package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/k3sca/k3sca/node"
)

// sandboxLogFile is the sandbox's k3s log, written by the simulated start.
const sandboxLogFile = ".k3sca-k3s.log"

// LogFile is the path of a sandbox's k3s log.
func LogFile(dataDir string) string { return filepath.Join(dataDir, sandboxLogFile) }

// ErrorLogCommand implements node.ErrorLogReader.
func (s *Services) ErrorLogCommand(string) string {
	return node.ErrorLinesOf(LogFile(s.DataDir))
}

// ErrorLog implements node.ErrorLogReader from the sandbox's log.
func (s *Services) ErrorLog(_ context.Context, _ string, n int) ([]string, error) {
	out, err := os.ReadFile(LogFile(s.DataDir))
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's k3s log: %w", err)
	}
	return node.LastErrorLines(out, n), nil
}

// appendSandboxLog appends one line to the sandbox's k3s log in k3s's
// (logrus) format. A failure to log is not an error of the start.
func appendSandboxLog(dataDir string, now time.Time, level, msg string) {
	f, err := os.OpenFile(LogFile(dataDir), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintf(f, "time=%q level=%s msg=%s\n", now.UTC().Format(time.RFC3339), level, strconv.Quote(msg))
}
