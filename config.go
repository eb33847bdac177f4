package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// Setting keys. Every key is bound explicitly to its flag and to the
// environment variable K3SCA_<KEY> (dashes become underscores); K3S_*
// variables are never read.
const (
	keyConfig        = "config"
	keyProduct       = "product"
	keyDataDir       = "data-dir"
	keyOutput        = "output"
	keyRenewDays     = "renew-days"
	keyToken         = "token"
	keyServer        = "server"
	keyVia           = "via"
	keyEtcdEndpoints = "etcd-endpoints"
	keyEtcdCA        = "etcd-cafile"
	keyEtcdCert      = "etcd-certfile"
	keyEtcdKey       = "etcd-keyfile"
	keyKeyType       = "key-type"
	keyK3sConfig     = "k3s-config"
	keyTimeout       = "timeout"
	keySQLiteCopy    = "sqlite-copy-limit"
)

// settingKeys lists every key viper knows about.
var settingKeys = []string{
	keyProduct, keyDataDir, keyOutput, keyRenewDays, keyToken, keyServer, keyVia,
	keyEtcdEndpoints, keyEtcdCA, keyEtcdCert, keyEtcdKey, keyKeyType, keyK3sConfig, keyTimeout, keySQLiteCopy,
	keyStageRoot, keyClusterName, keyLog, keyPlain, keyDryRun, keyRestartTimeout, keyInventory,
	keyKubeconfig, keyParallel,
}

// app holds what every command shares: settings, output streams and the clock.
type app struct {
	v       *viper.Viper
	stdout  io.Writer
	stderr  io.Writer
	now     func() time.Time
	cfgFile string
	home    func() (string, error)
	// nodes are the --node values (not a viper setting: viper would split
	// each value at its commas).
	nodes []string
	// acceptHostKeys are the --accept-host-key values (NODE=SHA256:...).
	acceptHostKeys []string
	// log is --log, open while a command runs; logFile its file.
	log     *slog.Logger
	logFile io.Closer
	// loadHook is passed to every load as LoadInput.Hook (tests pause a
	// load at a named point); nil in the program.
	loadHook func(point string)
	// ce is how check and run check exit (their flags); nagios is set
	// once --exit-codes nagios is validated: every error then exits
	// UNKNOWN.
	ce     checkExit
	nagios bool
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{v: viper.New(), stdout: stdout, stderr: stderr, now: time.Now, home: os.UserConfigDir}
}

// envName is the environment variable of a setting key.
func envName(key string) string {
	return "K3SCA_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// bindSettings binds the flags the running command has, and every env var,
// then reads the config file. Precedence: flag > env > config file > default.
func (a *app) bindSettings(cmd *cobra.Command) error {
	a.v.SetDefault(keyProduct, "k3s")
	a.v.SetDefault(keyOutput, "text")
	a.v.SetDefault(keyRenewDays, defaultRenewDays)
	a.v.SetDefault(keyServer, "https://127.0.0.1:6443")
	a.v.SetDefault(keyVia, "auto")
	a.v.SetDefault(keyRestartTimeout, steps.DefaultRestartTimeout)
	a.v.SetDefault(keyParallel, 1)
	a.v.SetDefault(keyKeyType, "ecdsa-p256")
	a.v.SetDefault(keySQLiteCopy, "1GiB")
	for _, key := range settingKeys {
		if err := a.v.BindEnv(key, envName(key)); err != nil {
			return fmt.Errorf("bind %s: %w", envName(key), err)
		}
		f := cmd.Flags().Lookup(key)
		if f == nil {
			f = cmd.PersistentFlags().Lookup(key)
		}
		if f != nil {
			if err := a.v.BindPFlag(key, f); err != nil {
				return fmt.Errorf("bind --%s: %w", key, err)
			}
		}
	}
	return a.readConfigFile()
}

// readConfigFile reads --config (or K3SCA_CONFIG), else the default file if present.
func (a *app) readConfigFile() error {
	path := a.cfgFile
	if path == "" {
		path = os.Getenv(envName(keyConfig))
	}
	explicit := path != ""
	if !explicit {
		dir, err := a.home()
		if err != nil {
			return nil
		}
		path = filepath.Join(dir, "k3sca", "config.yaml")
	}
	a.v.SetConfigFile(path)
	if err := a.v.ReadInConfig(); err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return usagef("config file %s: %v", path, err)
	}
	return nil
}

func (a *app) product() (product.Product, error) {
	p, err := product.Parse(a.v.GetString(keyProduct))
	if err != nil {
		return product.Product{}, usageError{err}
	}
	return p, nil
}

// dataDir is the k3s data dir: the setting, else data-dir in k3s's own
// config file and its drop-ins, else the product default.
func (a *app) dataDir() (string, error) {
	dd, _, err := a.dataDirSource()
	return dd, err
}

// dataDirSource is dataDir and where it came from, for the operator.
func (a *app) dataDirSource() (string, string, error) {
	p, err := a.product()
	if err != nil {
		return "", "", err
	}
	dd, src, err := node.ResolveDataDir(p, a.v.GetString(keyDataDir), "")
	if err != nil {
		return "", "", fmt.Errorf("data dir: %w", err)
	}
	return dd, src, nil
}

// target is the product and the k3s data dir every command works on.
func (a *app) target() (product.Product, string, error) {
	p, err := a.product()
	if err != nil {
		return product.Product{}, "", err
	}
	dd, err := a.dataDir()
	if err != nil {
		return product.Product{}, "", err
	}
	return p, dd, nil
}

// defaultRenewDays is pki.DefaultRenewWindow in days: the window when
// neither --renew-days nor the k3s version found says another.
var defaultRenewDays = int(pki.DefaultRenewWindow / (24 * time.Hour))

// renewWindow is the leaf renewal window: --renew-days when given (flag,
// K3SCA_RENEW_DAYS or the config file), else the window of the k3s version
// found (k3sver's table: 90 days before the 2025-05 releases), else
// pki.DefaultRenewWindow. why says which, for the operator ("" for the
// setting and the default).
func (a *app) renewWindow(cmd *cobra.Command, k *node.K3sVersion) (window time.Duration, why string, err error) {
	_, inEnv := os.LookupEnv(envName(keyRenewDays))
	if cmd.Flags().Changed(keyRenewDays) || inEnv || a.v.InConfig(keyRenewDays) {
		days := a.v.GetInt(keyRenewDays)
		if days < 0 {
			return 0, "", usagef("--renew-days must not be negative")
		}
		return time.Duration(days) * 24 * time.Hour, "", nil
	}
	if days, source, ok := k3sver.RenewDays(k.Parsed()); ok {
		return time.Duration(days) * 24 * time.Hour, fmt.Sprintf("%s renews leaf certificates within %d days (%s); --renew-days overrides", k.Version, days, source), nil
	}
	return pki.DefaultRenewWindow, "", nil
}

// output returns the -o value checked against the formats a command accepts.
func (a *app) output(allowed ...string) (string, error) {
	o := a.v.GetString(keyOutput)
	for _, ok := range allowed {
		if o == ok {
			return o, nil
		}
	}
	return "", usagef("unsupported output %q: want one of %s", o, strings.Join(allowed, ", "))
}

// addOutputFlag adds -o/--output to a command.
func addOutputFlag(fs *pflag.FlagSet, formats string) {
	fs.StringP(keyOutput, "o", "text", "output format: "+formats)
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "required flag", "accepts at most"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
