// Command kine016 starts kine v0.16.4 (the kine of k3s v1.36) on a SQLite
// file the way k3s does, reads keys through an etcd v3 client and prints
// one JSON line per key:
//
//	{"key":"/k","value":"<base64>","create_revision":3,"mod_revision":5}
//
// It exits 1 with the error on stderr when kine fails to start or a Get
// fails, and 2 when a key is absent. Built with CGO_ENABLED=0, kine's
// sqlite driver uses modernc.org/sqlite (pkg/drivers/sqlite/sqlite_nocgo.go).
//
// Usage: kine016 DBPATH KEY...
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/k3s-io/kine/pkg/drivers/sqlite"
	"github.com/k3s-io/kine/pkg/endpoint"
	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// errNotFound marks a key kine reports as absent.
var errNotFound = errors.New("key not found")

// result is one printed line.
type result struct {
	Key            string `json:"key"`
	Value          []byte `json:"value"`
	CreateRevision int64  `json:"create_revision"`
	ModRevision    int64  `json:"mod_revision"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: kine016 DBPATH KEY...")
		os.Exit(64)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "kine016:", err)
		if errors.Is(err, errNotFound) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(dbPath string, keys []string) error {
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetOutput(os.Stderr)
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	dir, err := os.MkdirTemp("", "kine016")
	if err != nil {
		return fmt.Errorf("socket dir: %w", err)
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithCancel(context.Background())
	wg := &sync.WaitGroup{}
	cfg, err := endpoint.Listen(ctx, endpoint.Config{
		WaitGroup: wg,
		Listener:  "unix://" + filepath.Join(dir, "kine.sock"),
		Endpoint:  "sqlite://" + dbPath + "?" + sqlite.DefaultParams,
		// kine v0.16.4's own CLI defaults (pkg/app).
		NotifyInterval: 5 * time.Second, EmulatedETCDVersion: "3.6.11",
		CompactTimeout: 5 * time.Second, CompactMinRetain: 1000, CompactBatchSize: 1000, PollBatchSize: 500,
	})
	if err != nil {
		cancel()
		return fmt.Errorf("start kine v0.16.4 on %s: %w", dbPath, err)
	}
	defer func() {
		// Stop kine and wait until it has closed the database.
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			fmt.Fprintln(os.Stderr, "kine016: kine did not stop within 10s")
		}
	}()

	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd client for %v: %w", cfg.Endpoints, err)
	}
	defer cli.Close()

	enc := json.NewEncoder(os.Stdout)
	for _, key := range keys {
		gctx, gcancel := context.WithTimeout(ctx, 20*time.Second)
		resp, err := cli.Get(gctx, key)
		gcancel()
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
		if len(resp.Kvs) != 1 {
			return fmt.Errorf("get %s: %w (%d kvs)", key, errNotFound, len(resp.Kvs))
		}
		kv := resp.Kvs[0]
		if err := enc.Encode(result{Key: string(kv.Key), Value: kv.Value, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision}); err != nil {
			return fmt.Errorf("print %s: %w", key, err)
		}
	}
	return nil
}
