package remote

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// fileTarget is a node under test and where its files are on this machine.
type fileTarget struct {
	node Node
	// base is a scratch dir as a node path.
	base string
	// host maps a node path to this machine's path.
	host func(string) string
}

// foreignOwner is an owner other than the test's own, for the "owner is
// kept" checks; as non-root the test can only use its own.
func foreignOwner() Owner {
	if os.Geteuid() == 0 {
		return Owner{UID: 1234, GID: 2345}
	}
	return Owner{UID: os.Getuid(), GID: os.Getgid()}
}

func ownerOf(t *testing.T, hostPath string) Owner {
	t.Helper()
	fi, err := os.Lstat(hostPath)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return Owner{int(st.Uid), int(st.Gid)}
}

func mustWrite(t *testing.T, hostPath, data string, mode fs.FileMode) {
	t.Helper()
	testkit.WriteFile(t, hostPath, []byte(data), mode)
}

// noTemps fails if a k3sca temp file is left in the host dir.
func noTemps(t *testing.T, hostDir string) {
	t.Helper()
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".k3sca-tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

// testNodeFiles runs the file contract of Node against tgt: the same
// checks for Local (with and without Root) and SSH (root login and sudo).
func testNodeFiles(t *testing.T, newTarget func(t *testing.T) fileTarget) {
	ctx := context.Background()
	mtime := testkit.Now.Add(-72 * time.Hour).Truncate(time.Second)

	t.Run("ReadFile", func(t *testing.T) {
		tgt := newTarget(t)
		p := path.Join(tgt.base, "server", "token")
		mustWrite(t, tgt.host(p), "K10secret::server:abc\n", 0o600)
		got, err := tgt.node.ReadFile(ctx, p)
		if err != nil || string(got) != "K10secret::server:abc\n" {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
		_, err = tgt.node.ReadFile(ctx, path.Join(tgt.base, "missing"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file: %v, want fs.ErrNotExist", err)
		}
		if _, err := tgt.node.ReadFile(ctx, "relative/token"); !errors.Is(err, ErrRelativePath) {
			t.Errorf("relative path: %v, want ErrRelativePath", err)
		}
	})

	t.Run("Stat", func(t *testing.T) {
		tgt := newTarget(t)
		file := path.Join(tgt.base, "config.yaml")
		mustWrite(t, tgt.host(file), "token: x\n", 0o640)
		testkit.SetMtime(t, tgt.host(file), mtime)
		if err := os.Symlink("config.yaml", tgt.host(path.Join(tgt.base, "link.yaml"))); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("nowhere", tgt.host(path.Join(tgt.base, "dangling"))); err != nil {
			t.Fatal(err)
		}
		own := ownerOf(t, tgt.host(file))
		fileInfo := FileInfo{Path: file, Exists: true, Mode: 0o640, Size: 9, ModTime: mtime, UID: own.UID, GID: own.GID}
		linkInfo := fileInfo
		linkInfo.Path, linkInfo.Symlink = path.Join(tgt.base, "link.yaml"), true
		for _, tc := range []struct {
			path string
			want FileInfo
		}{
			{file, fileInfo},
			{path.Join(tgt.base, "link.yaml"), linkInfo},
			{path.Join(tgt.base, "missing"), FileInfo{Path: path.Join(tgt.base, "missing")}},
			{path.Join(tgt.base, "dangling"), FileInfo{Path: path.Join(tgt.base, "dangling"), Symlink: true}},
			{path.Join(tgt.base, "missing", "below"), FileInfo{Path: path.Join(tgt.base, "missing", "below")}},
		} {
			got, err := tgt.node.Stat(ctx, tc.path)
			if err != nil {
				t.Errorf("Stat(%s): %v", tc.path, err)
				continue
			}
			got.ModTime = got.ModTime.UTC()
			if !got.ModTime.Equal(tc.want.ModTime) {
				t.Errorf("Stat(%s).ModTime = %v, want %v", tc.path, got.ModTime, tc.want.ModTime)
			}
			got.ModTime = tc.want.ModTime
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Stat(%s) = %+v\nwant %+v", tc.path, got, tc.want)
			}
		}
		dir, err := tgt.node.Stat(ctx, tgt.base)
		if err != nil || !dir.Exists || !dir.Mode.IsDir() {
			t.Errorf("Stat(dir) = %+v, %v", dir, err)
		}
	})

	t.Run("Glob", func(t *testing.T) {
		tgt := newTarget(t)
		d := path.Join(tgt.base, "etc", "rancher", "k3s", "config.yaml.d")
		for _, n := range []string{"10-token.yaml", "20-tls.yaml", "30-other.yml", "README", ".hidden.yaml", "50-old.yaml.k3sca-bak-1"} {
			mustWrite(t, tgt.host(path.Join(d, n)), "x: 1\n", 0o600)
		}
		mustWrite(t, tgt.host(path.Join(tgt.base, "etc", "rancher", "node", "config.yaml.d", "1.yaml")), "", 0o600)
		mustWrite(t, tgt.host(path.Join(tgt.base, "etc", "rancher", "file")), "", 0o600)
		for _, tc := range []struct {
			pattern string
			want    []string
		}{
			{path.Join(d, "*.yaml"), []string{path.Join(d, ".hidden.yaml"), path.Join(d, "10-token.yaml"), path.Join(d, "20-tls.yaml")}},
			{path.Join(d, "[12]0-*.yaml"), []string{path.Join(d, "10-token.yaml"), path.Join(d, "20-tls.yaml")}},
			{path.Join(d, "?0-*.y*ml"), []string{path.Join(d, "10-token.yaml"), path.Join(d, "20-tls.yaml"), path.Join(d, "30-other.yml")}},
			{path.Join(tgt.base, "etc", "rancher", "*", "config.yaml.d", "1*.yaml"), []string{path.Join(d, "10-token.yaml"), path.Join(tgt.base, "etc", "rancher", "node", "config.yaml.d", "1.yaml")}},
			{path.Join(d, "README"), []string{path.Join(d, "README")}},
			{path.Join(d, "*.json"), []string{}},
			{path.Join(tgt.base, "nonexistent", "*.yaml"), []string{}},
			{path.Join(tgt.base, "etc", "rancher", "file", "*"), []string{}},
		} {
			got, err := tgt.node.Glob(ctx, tc.pattern)
			if err != nil {
				t.Errorf("Glob(%s): %v", tc.pattern, err)
				continue
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Glob(%s) = %q, want %q", tc.pattern, got, tc.want)
			}
		}
		if _, err := tgt.node.Glob(ctx, path.Join(d, "[")); err == nil {
			t.Error("bad pattern: want an error")
		}
	})

	t.Run("WriteFile", func(t *testing.T) {
		now := testkit.Now
		for _, tc := range []struct {
			name    string
			mode    fs.FileMode // existing file's mode; 0: no file
			owner   bool        // existing file owned by foreignOwner
			opts    WriteOptions
			want    fs.FileMode
			wantOwn *Owner // nil: the test's own
		}{
			{name: "new file, default mode", opts: WriteOptions{Now: now}, want: 0o600},
			{name: "new file, asked mode and owner", opts: WriteOptions{Now: now, Mode: 0o644, Owner: ptr(foreignOwner())}, want: 0o644, wantOwn: ptr(foreignOwner())},
			{name: "existing 0600 kept", mode: 0o600, opts: WriteOptions{Now: now, Mode: 0o644}, want: 0o600},
			{name: "existing 0640 and owner kept", mode: 0o640, owner: true, opts: WriteOptions{Now: now, Owner: &Owner{0, 0}}, want: 0o640, wantOwn: ptr(foreignOwner())},
			{name: "existing 0755, mtime set", mode: 0o755, opts: WriteOptions{Now: now, ModTime: mtime.Add(time.Hour)}, want: 0o755},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tgt := newTarget(t)
				p := path.Join(tgt.base, "etc", "rancher", "k3s", "config.yaml")
				hp := tgt.host(p)
				if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
					t.Fatal(err)
				}
				if tc.mode != 0 {
					mustWrite(t, hp, "token: old\n", tc.mode)
					if tc.owner {
						o := foreignOwner()
						if err := os.Chown(hp, o.UID, o.GID); err != nil {
							t.Fatal(err)
						}
					}
					testkit.SetMtime(t, hp, mtime)
				}
				oldOwner := Owner{os.Getuid(), os.Getgid()}
				if tc.mode != 0 {
					oldOwner = ownerOf(t, hp)
				}
				backup, err := tgt.node.WriteFile(ctx, p, []byte("token: new\n"), tc.opts)
				if err != nil {
					t.Fatalf("WriteFile: %v", err)
				}
				got, err := os.ReadFile(hp)
				if err != nil || string(got) != "token: new\n" {
					t.Fatalf("after write: %q, %v", got, err)
				}
				fi, _ := os.Lstat(hp)
				if fi.Mode() != tc.want {
					t.Errorf("mode = %v, want %v", fi.Mode(), tc.want)
				}
				wantOwn := Owner{os.Getuid(), os.Getgid()}
				if tc.wantOwn != nil {
					wantOwn = *tc.wantOwn
				}
				if own := ownerOf(t, hp); own != wantOwn {
					t.Errorf("owner = %v, want %v", own, wantOwn)
				}
				if !tc.opts.ModTime.IsZero() && !fi.ModTime().Equal(tc.opts.ModTime) {
					t.Errorf("mtime = %v, want %v", fi.ModTime(), tc.opts.ModTime)
				}
				noTemps(t, filepath.Dir(hp))
				if tc.mode == 0 {
					if backup != "" {
						t.Errorf("backup of a new file: %q", backup)
					}
					return
				}
				if want := p + ".k3sca-bak-" + "1795780800"; backup != want || BackupName(p, now.Unix()) != want {
					t.Errorf("backup = %q, want %q", backup, want)
				}
				b, err := os.ReadFile(tgt.host(backup))
				if err != nil || string(b) != "token: old\n" {
					t.Errorf("backup holds %q, %v", b, err)
				}
				bi, _ := os.Lstat(tgt.host(backup))
				if bi.Mode() != tc.mode || !bi.ModTime().Equal(mtime) {
					t.Errorf("backup mode %v mtime %v, want %v %v", bi.Mode(), bi.ModTime(), tc.mode, mtime)
				}
				if own := ownerOf(t, tgt.host(backup)); own != oldOwner {
					t.Errorf("backup owner = %v, want %v", own, oldOwner)
				}

				// The same clock again: the next free name, the first backup kept.
				backup2, err := tgt.node.WriteFile(ctx, p, []byte("token: newer\n"), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				if backup2 != backup+".2" {
					t.Errorf("second backup = %q, want %q", backup2, backup+".2")
				}
				if b, _ := os.ReadFile(tgt.host(backup2)); string(b) != "token: new\n" {
					t.Errorf("second backup holds %q", b)
				}
				if b, _ := os.ReadFile(tgt.host(backup)); string(b) != "token: old\n" {
					t.Errorf("first backup now holds %q", b)
				}
				noTemps(t, filepath.Dir(hp))
			})
		}
	})

	t.Run("WriteFile removes its stale temp files", func(t *testing.T) {
		// What writers of config.yaml killed mid-write left: a backup's
		// temp and a new contents' temp. Others' files stay.
		tgt := newTarget(t)
		dir := path.Join(tgt.base, "etc")
		p := path.Join(dir, "config.yaml")
		mustWrite(t, tgt.host(p), "token: old\n", 0o600)
		stale := []string{".config.yaml.k3sca-tmp-0123456789ab", ".config.yaml.k3sca-tmp-ffffffffffff"}
		kept := []string{
			".other.yaml.k3sca-tmp-0123456789ab",   // another file's
			".config.yaml.k3sca-tmp-0123456789",    // not 12 hex digits
			".config.yaml.k3sca-tmp-0123456789AB",  // not writeTemp's spelling
			".config.yaml.k3sca-tmp-0123456789abc", // too long
			"config.yaml.k3sca-tmp-0123456789ab",   // not hidden
		}
		for _, n := range append(slices.Clone(stale), kept...) {
			mustWrite(t, tgt.host(path.Join(dir, n)), "token: half-written\n", 0o600)
		}
		if err := os.Mkdir(tgt.host(path.Join(dir, ".config.yaml.k3sca-tmp-aaaaaaaaaaaa")), 0o700); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, ".config.yaml.k3sca-tmp-aaaaaaaaaaaa") // a directory
		if _, err := tgt.node.WriteFile(ctx, p, []byte("token: new\n"), WriteOptions{Now: testkit.Now}); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(tgt.host(dir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		for _, n := range stale {
			if slices.Contains(names, n) {
				t.Errorf("the stale temp file %s is still there", n)
			}
		}
		for _, n := range kept {
			if !slices.Contains(names, n) {
				t.Errorf("%s was removed; it is not a temp file of config.yaml", n)
			}
		}
		if b, _ := os.ReadFile(tgt.host(p)); string(b) != "token: new\n" {
			t.Errorf("config.yaml holds %q", b)
		}
	})

	t.Run("PutBack", func(t *testing.T) {
		// A file rewritten by WriteFile, then put back from its backup:
		// the old bytes with the old mode, owner and mtime, the backup
		// kept, no temp file left.
		tgt := newTarget(t)
		dir := path.Join(tgt.base, "etc", "rancher", "k3s")
		p := path.Join(dir, "config.yaml")
		mustWrite(t, tgt.host(p), "token: old\n", 0o640)
		if err := os.Lchown(tgt.host(p), foreignOwner().UID, foreignOwner().GID); err != nil {
			t.Fatal(err)
		}
		testkit.SetMtime(t, tgt.host(p), mtime)
		backup, err := tgt.node.WriteFile(ctx, p, []byte("token: new\n"), WriteOptions{Now: testkit.Now})
		if err != nil {
			t.Fatal(err)
		}
		// The live file made stricter and another owner's since: the put
		// back gives the backup's, the file's as it was.
		if err := os.Chmod(tgt.host(p), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := tgt.node.PutBack(ctx, p, backup, []byte("token: new\n"), PutBackOptions{}); err != nil {
			t.Fatalf("PutBack: %v", err)
		}
		fi, err := tgt.node.Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(tgt.host(p))
		if string(b) != "token: old\n" || fi.Mode != 0o640 || (Owner{fi.UID, fi.GID}) != foreignOwner() || !fi.ModTime.Equal(mtime) {
			t.Errorf("put back: %q mode %v owner %d:%d mtime %v; want the old bytes, 0640, %v, %v", b, fi.Mode, fi.UID, fi.GID, fi.ModTime, foreignOwner(), mtime)
		}
		if b, err := os.ReadFile(tgt.host(backup)); err != nil || string(b) != "token: old\n" {
			t.Errorf("the backup after the put back: %q, %v; want it kept", b, err)
		}
		noTemps(t, tgt.host(dir))

		// Refused, the file left as it is: it no longer holds what the
		// caller expects; a path that is not one of its backups; a
		// symlink.
		other := path.Join(dir, "other.yaml")
		mustWrite(t, tgt.host(other), "token: old\n", 0o600)
		link := path.Join(dir, "link.yaml")
		if err := os.Symlink("config.yaml", tgt.host(link)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path.Base(backup), tgt.host(link+".k3sca-bak-1")); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, path, backup, expect string
			want                       error
		}{
			{"changed since", p, backup, "token: new\n", ErrChangedSince},
			{"not its backup", p, other, "token: old\n", ErrNotABackup},
			{"another file's backup", other, backup, "token: old\n", ErrNotABackup},
			{"a symlink", link, link + ".k3sca-bak-1", "token: old\n", ErrNotRegular},
		} {
			err := tgt.node.PutBack(ctx, tc.path, tc.backup, []byte(tc.expect), PutBackOptions{})
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if b, _ := os.ReadFile(tgt.host(p)); string(b) != "token: old\n" {
			t.Errorf("after the refusals config.yaml holds %q", b)
		}
		noTemps(t, tgt.host(dir))
	})

	t.Run("WriteFile refuses", func(t *testing.T) {
		tgt := newTarget(t)
		link := path.Join(tgt.base, "link.yaml")
		mustWrite(t, tgt.host(path.Join(tgt.base, "real.yaml")), "a: 1\n", 0o600)
		if err := os.Symlink("real.yaml", tgt.host(link)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(tgt.host(path.Join(tgt.base, "adir")), 0o755); err != nil {
			t.Fatal(err)
		}
		now := WriteOptions{Now: testkit.Now}
		for _, tc := range []struct {
			name string
			path string
			opts WriteOptions
			want error
		}{
			{"symlink", link, now, ErrSymlink},
			{"directory", path.Join(tgt.base, "adir"), now, ErrNotRegular},
			{"no clock", path.Join(tgt.base, "new.yaml"), WriteOptions{}, ErrNoClock},
			{"relative", "etc/x.yaml", now, ErrRelativePath},
			{"unclean", tgt.base + "/../x.yaml", now, ErrRelativePath},
			{"missing parent", path.Join(tgt.base, "no", "such", "x.yaml"), now, fs.ErrNotExist},
		} {
			if _, err := tgt.node.WriteFile(ctx, tc.path, []byte("b: 2\n"), tc.opts); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if b, _ := os.ReadFile(tgt.host(path.Join(tgt.base, "real.yaml"))); string(b) != "a: 1\n" {
			t.Errorf("symlink target changed: %q", b)
		}
		if fi, err := os.Lstat(tgt.host(link)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("symlink replaced: %v %v", fi, err)
		}
		noTemps(t, tgt.host(tgt.base))
	})

	t.Run("WriteFile makes parents with DirMode", func(t *testing.T) {
		tgt := newTarget(t)
		p := path.Join(tgt.base, "etc", "rancher", "k3s", "config.yaml.d", "50-k3sca.yaml")
		if _, err := tgt.node.WriteFile(ctx, p, []byte("x: 1\n"), WriteOptions{Now: testkit.Now, DirMode: 0o750}); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"etc", "etc/rancher", "etc/rancher/k3s", "etc/rancher/k3s/config.yaml.d"} {
			if fi, err := os.Stat(tgt.host(path.Join(tgt.base, d))); err != nil || fi.Mode().Perm() != 0o750 {
				t.Errorf("%s: %v %v, want 0750", d, fi.Mode(), err)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// spyFS records the file operations of writeAtomic and checks, at the
// rename that replaces the file, that the backup is already complete.
type spyFS struct {
	fileSystem
	t       *testing.T
	ops     []string
	target  string
	old     string
	failOn  string
	renamed bool
}

func (s *spyFS) record(op, p string) error {
	s.ops = append(s.ops, op+" "+path.Base(p))
	if op == s.failOn {
		return errors.New("injected " + op + " failure")
	}
	return nil
}

func (s *spyFS) createExcl(p string) (fileWriter, error) {
	if err := s.record("create", p); err != nil {
		return nil, err
	}
	w, err := s.fileSystem.createExcl(p)
	return spyWriter{w, s}, err
}

type spyWriter struct {
	fileWriter
	s *spyFS
}

func (w spyWriter) Sync() error {
	if err := w.s.record("fsync", ""); err != nil {
		return err
	}
	return w.fileWriter.Sync()
}

func (s *spyFS) link(o, n string) error {
	if err := s.record("link", n); err != nil {
		return err
	}
	return s.fileSystem.link(o, n)
}

func (s *spyFS) rename(o, n string) error {
	if err := s.record("rename", n); err != nil {
		return err
	}
	if n == s.target {
		b, err := s.fileSystem.readFile(BackupName(s.target, testkit.Now.Unix()))
		if err != nil || string(b) != s.old {
			s.t.Errorf("at the rename the backup holds %q, %v; want the old file complete", b, err)
		}
		s.renamed = true
	}
	return s.fileSystem.rename(o, n)
}

// TestWriteAtomicOrder pins the order of the atomic write: backup written,
// fsynced and linked under its name before the new file is written,
// fsynced and renamed into place; a failure at any step before the rename
// leaves the old file as it was and no temp file behind.
func TestWriteAtomicOrder(t *testing.T) {
	for _, failOn := range []string{"", "create", "fsync", "link", "rename"} {
		t.Run("fail on "+failOn, func(t *testing.T) {
			root := t.TempDir()
			mustWrite(t, filepath.Join(root, "etc/token"), "old-secret\n", 0o600)
			s := &spyFS{fileSystem: underRoot(osFS{}, root), t: t, target: "/etc/token", old: "old-secret\n", failOn: failOn}
			backup, err := writeAtomic(context.Background(), s, "/etc/token", []byte("new-secret\n"), WriteOptions{Now: testkit.Now})
			got, _ := os.ReadFile(filepath.Join(root, "etc/token"))
			noTemps(t, filepath.Join(root, "etc"))
			if failOn != "" {
				if err == nil {
					t.Fatal("want the injected failure")
				}
				if string(got) != "old-secret\n" {
					t.Errorf("after a failed write the file holds %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"create .token.k3sca-tmp-", "fsync", "link token.k3sca-bak-1795780800", // the backup
				"create .token.k3sca-tmp-", "fsync", "rename token", // the new file
			}
			if len(s.ops) != len(want) {
				t.Fatalf("ops = %q, want %q", s.ops, want)
			}
			for i := range want {
				if !strings.HasPrefix(s.ops[i], want[i]) {
					t.Errorf("op %d = %q, want %q…", i, s.ops[i], want[i])
				}
			}
			if !s.renamed || string(got) != "new-secret\n" || backup != "/etc/token.k3sca-bak-1795780800" {
				t.Errorf("renamed %v, file %q, backup %q", s.renamed, got, backup)
			}
		})
	}
}

// TestWriteAfterAStoppedWrite: a writer stopped between its backup and
// its rename leaves a backup of the unchanged file; the next write keeps
// that backup instead of making a second one, and a file changed since
// gets a backup of its own.
func TestWriteAfterAStoppedWrite(t *testing.T) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/token"), "old-secret\n", 0o600)
	f := underRoot(osFS{}, root)
	cur, err := f.lstat("/etc/token")
	if err != nil {
		t.Fatal(err)
	}
	// What the stopped writer did: the backup, and nothing after it.
	left, err := makeBackup(context.Background(), f, "/etc/token", []byte("old-secret\n"), cur, testkit.Now.Add(-time.Minute).Unix(), func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := NewLocal(root, nil)
	backup, err := l.WriteFile(context.Background(), "/etc/token", []byte("new-secret\n"), WriteOptions{Now: testkit.Now})
	if err != nil || backup != left {
		t.Fatalf("backup %q, %v; want the one left, %q", backup, err, left)
	}
	again, err := l.WriteFile(context.Background(), "/etc/token", []byte("newer-secret\n"), WriteOptions{Now: testkit.Now})
	if err != nil || again == left || again == "" {
		t.Fatalf("a changed file: backup %q, %v", again, err)
	}
	names, _ := f.readDirNames("/etc")
	var bs []string
	for _, n := range names {
		if strings.Contains(n, backupSuffix) {
			bs = append(bs, n)
		}
	}
	if len(bs) != 2 {
		t.Errorf("backups %v, want the one left and the changed file's", bs)
	}
	noTemps(t, filepath.Join(root, "etc"))
}
