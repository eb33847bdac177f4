package datastore

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// benchDBVersion keys the cached 1M-row database; bump it when the
// generator changes.
const benchDBVersion = "v1"

const (
	benchRows    = 1_000_000
	benchKeyAt   = benchRows / 2 // the bootstrap key is created mid-history
	benchValLen  = 96
	benchPass    = "bench-secret"
	benchDBLabel = "k3sca-bench-kine-1M-"
)

// benchDB returns a kine state.db holding 1,000,000 rows besides the
// bootstrap key, generated once and cached under os.TempDir().
func benchDB(b *testing.B) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), benchDBLabel+benchDBVersion+".db")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := generateBenchDB(tmp); err != nil {
		b.Fatalf("generate %s: %v", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// generateBenchDB bulk-inserts create rows in one transaction with kine's
// schema (table first, indexes after, as kineSchema lists them).
func generateBenchDB(path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(kineSchema[0]); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	stmt, err := tx.Prepare(`INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)
		VALUES (?, 1, 0, NULL, 0, 0, ?, NULL)`)
	if err != nil {
		return err
	}
	val := make([]byte, benchValLen)
	for i := range benchRows {
		if i == benchKeyAt {
			enc, err := Encrypt(benchPass, []byte("{}\n"))
			if err != nil {
				return err
			}
			if _, err := stmt.Exec(StorageKey(benchPass), enc); err != nil {
				return err
			}
		}
		copy(val, strconv.Itoa(i))
		if _, err := stmt.Exec(fmt.Sprintf("/registry/configmaps/ns%03d/cm-%07d", i%1000, i), val); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for _, s := range kineSchema[1:] {
		if _, err := db.Exec(s); err != nil {
			return err
		}
	}
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	// Flush now, or the timed loop's first commit pays for the copy.
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// resetPeakRSS makes the kernel restart VmHWM from the current RSS.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatusMB reads a kB field (VmHWM, VmRSS) of /proc/self/status in MiB
// (0 if unavailable).
func procStatusMB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkSQLiteUpdateLarge times what a load does on a big cluster's
// state.db: OpenSQLite, Get of the bootstrap key, one guarded Update, Close.
// It reports the process's peak RSS during the timed loop (peak-RSS-MB) and
// its RSS before it (base-RSS-MB: the test binary, kine and etcd included).
func BenchmarkSQLiteUpdateLarge(b *testing.B) {
	src := benchDB(b)
	path := filepath.Join(b.TempDir(), "state.db")
	if err := copyFile(path, src); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	key := StorageKey(benchPass)
	value, err := Encrypt(benchPass, []byte("{}\n"))
	if err != nil {
		b.Fatal(err)
	}
	resetPeakRSS()
	base := procStatusMB("VmRSS")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := OpenSQLite(ctx, path, 0)
		if err != nil {
			b.Fatal(err)
		}
		kv, err := s.Get(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Update(ctx, key, kv.ModRevision, value); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(procStatusMB("VmHWM"), "peak-RSS-MB")
	b.ReportMetric(base, "base-RSS-MB")
}

// BenchmarkEncryptDecryptBootstrap seals and opens a real default cluster's
// bootstrap JSON (15 files' worth, ~8.8 KB) and decodes it again.
func BenchmarkEncryptDecryptBootstrap(b *testing.B) {
	var plain []byte
	for _, v := range loadKAT(b) {
		if v.PlaintextFormat == "paths-dataformat" && len(v.Plaintext) > len(plain) {
			plain = []byte(v.Plaintext)
		}
	}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		enc, err := Encrypt(benchPass, plain)
		if err != nil {
			b.Fatal(err)
		}
		got, err := Decrypt(benchPass, enc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeBootstrap(got); err != nil {
			b.Fatal(err)
		}
	}
}
