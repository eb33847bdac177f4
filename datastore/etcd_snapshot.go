package datastore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/k3sca/k3sca/fsutil"
)

// ErrNotEtcd: the endpoint speaks the etcd API but is not an etcd member
// (kine answers Status with an empty header and has no snapshot).
var ErrNotEtcd = errors.New("the endpoint is not an etcd member (kine's etcd API has no snapshot)")

// ErrSnapshotHash: an etcd snapshot does not end with the sha256 of its
// content, as etcd's Snapshot API appends it.
var ErrSnapshotHash = errors.New("etcd snapshot integrity hash does not match")

// SnapshotTimeout bounds a whole snapshot download (a large database takes
// longer than one request's timeout).
const SnapshotTimeout = 10 * time.Minute

// EtcdStatus is what an etcd v3 endpoint says about itself.
type EtcdStatus struct {
	// MemberID is the answering member's ID: 0 for kine, which fills no
	// header.
	MemberID uint64
	// Version is the server's version (kine: the etcd version it emulates).
	Version string
	// DBSize is the backend database size in bytes (kine: its SQL
	// database's size).
	DBSize int64
	// IsLearner says the member is a raft learner, which serves no
	// snapshot (k3s skips its snapshots too).
	IsLearner bool
}

// IsEtcd reports whether the endpoint is a real etcd member.
func (s EtcdStatus) IsEtcd() bool { return s.MemberID != 0 }

// Status asks the endpoint e talks to for its status (Maintenance.Status).
func (e *Etcd) Status(ctx context.Context) (EtcdStatus, error) {
	ctx, cancel := e.opContext(ctx)
	defer cancel()
	resp, err := e.client.Status(ctx)
	if err != nil {
		return EtcdStatus{}, fmt.Errorf("etcd status of %s: %w", e.client.Endpoint(), classify(err))
	}
	return EtcdStatus{Version: resp.Version, DBSize: resp.DBSize, IsLearner: resp.IsLearner, MemberID: resp.Header.MemberID}, nil
}

// EtcdSnapshot is a snapshot file written by SaveSnapshot.
type EtcdSnapshot struct {
	// Path is the file; Size its size in bytes, integrity hash included.
	Path string
	Size int64
	// SHA256 is the hex integrity hash at the end of the file.
	SHA256 string
	// Version is the etcd version that made it ("" before etcd 3.6).
	Version string
}

// SaveSnapshot streams a point-in-time snapshot of the etcd member behind
// e's connection (Maintenance.Snapshot, what `k3s etcd-snapshot save` and
// `etcdctl snapshot save` download) to path, atomically and with mode:
// a temp file beside path, fsync, rename, fsync of the directory. The
// trailing sha256 that etcd appends is checked while the stream is
// written: a snapshot whose hash does not match is not renamed into place.
// mtime stamps the file. A kine endpoint has no snapshot: ErrNotEtcd.
func (e *Etcd) SaveSnapshot(ctx context.Context, path string, mode fs.FileMode, mtime time.Time) (*EtcdSnapshot, error) {
	st, err := e.Status(ctx)
	if err != nil {
		return nil, err
	}
	if !st.IsEtcd() {
		return nil, fmt.Errorf("snapshot: %w", ErrNotEtcd)
	}
	ctx, cancel := context.WithTimeout(ctx, SnapshotTimeout)
	defer cancel()
	stream, err := e.client.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", classify(err))
	}
	defer stream.Close()
	snap := &EtcdSnapshot{Path: path, Version: stream.Version}
	err = fsutil.WriteFileFrom(path, mode, mtime, func(w io.Writer) error {
		tw := &trailerHash{h: sha256.New()}
		n, err := io.Copy(io.MultiWriter(w, tw), stream)
		if err != nil {
			return fmt.Errorf("download snapshot: %w", classify(err))
		}
		snap.Size = n
		sum, err := tw.check(n)
		snap.SHA256 = sum
		return err
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// VerifySnapshot checks an etcd snapshot file's integrity hash: etcd
// appends the sha256 of the database to the snapshot it streams, and
// etcdutl's restore (which k3s's --cluster-reset-restore-path runs) refuses
// a file whose hash does not match. It returns the hex hash.
func VerifySnapshot(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("verify snapshot: %w", err)
	}
	defer f.Close()
	tw := &trailerHash{h: sha256.New()}
	n, err := io.Copy(tw, f)
	if err != nil {
		return "", fmt.Errorf("verify snapshot %s: %w", path, err)
	}
	sum, err := tw.check(n)
	if err != nil {
		return "", fmt.Errorf("verify snapshot %s: %w", path, err)
	}
	return sum, nil
}

// trailerHash hashes everything written to it except the last sha256.Size
// bytes, which it keeps: the trailer of an etcd snapshot.
type trailerHash struct {
	h    hash.Hash
	tail []byte
}

func (t *trailerHash) Write(p []byte) (int, error) {
	buf := append(t.tail, p...)
	if cut := len(buf) - sha256.Size; cut > 0 {
		t.h.Write(buf[:cut])
		buf = buf[cut:]
	}
	t.tail = append(t.tail[:0:0], buf...)
	return len(p), nil
}

// check compares the trailer with the hash of the rest; n is the total
// size. etcd's own test for a trailer: the size is a multiple of 512 plus
// the hash (the database is whole pages).
func (t *trailerHash) check(n int64) (string, error) {
	if n%512 != sha256.Size || len(t.tail) != sha256.Size {
		return "", fmt.Errorf("%w: %d bytes, no sha256 trailer", ErrSnapshotHash, n)
	}
	sum := t.h.Sum(nil)
	if !bytes.Equal(sum, t.tail) {
		return "", fmt.Errorf("%w: content hashes to %x, the trailer says %x", ErrSnapshotHash, sum, t.tail)
	}
	return hex.EncodeToString(sum), nil
}
