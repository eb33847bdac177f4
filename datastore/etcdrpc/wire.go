package etcdrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The messages of etcd's api/etcdserverpb/rpc.proto and api/mvccpb/kv.proto
// this client sends and reads, with their field numbers. Fields a server
// sends that are not listed here are skipped.

// ResponseHeader is etcdserverpb.ResponseHeader.
type ResponseHeader struct {
	ClusterID uint64 // 1
	MemberID  uint64 // 2; 0 from kine, which fills no header
	Revision  int64  // 3
	RaftTerm  uint64 // 4
}

// KeyValue is mvccpb.KeyValue.
type KeyValue struct {
	Key            []byte // 1
	CreateRevision int64  // 2
	ModRevision    int64  // 3
	Version        int64  // 4
	Value          []byte // 5
	Lease          int64  // 6
}

// RangeRequest is etcdserverpb.RangeRequest with a key and an optional
// range end: a plain get of Key, or with RangeEnd every key in
// [Key, RangeEnd) (PrefixEnd(Key) for a prefix, as clientv3's WithPrefix).
// Nothing else (limits, sorting, serializable reads) is sent: kine rejects
// most of it.
type RangeRequest struct {
	Key      []byte // 1
	RangeEnd []byte // 2
}

// RangeResponse is etcdserverpb.RangeResponse.
type RangeResponse struct {
	Header ResponseHeader // 1
	Kvs    []KeyValue     // 2
	More   bool           // 3
	Count  int64          // 4
}

// PutRequest is etcdserverpb.PutRequest with a key and a value (no lease).
type PutRequest struct {
	Key   []byte // 1
	Value []byte // 2
}

// PutResponse is etcdserverpb.PutResponse (prev_kv is not asked for).
type PutResponse struct {
	Header ResponseHeader // 1
}

// Compare is an etcdserverpb.Compare of the one form k3s uses: the key's
// mod revision equals ModRevision (0: the key does not exist).
type Compare struct {
	Key         []byte // 3; result (1) EQUAL, target (2) MOD
	ModRevision int64  // 6, sent even when 0 (a oneof member)
}

// Op is an etcdserverpb.RequestOp: exactly one of Range and Put.
type Op struct {
	Range *RangeRequest // 1
	Put   *PutRequest   // 2
}

// TxnRequest is etcdserverpb.TxnRequest.
type TxnRequest struct {
	Compare []Compare // 1
	Success []Op      // 2
	Failure []Op      // 3
}

// OpResponse is an etcdserverpb.ResponseOp: the one of Range and Put that
// answers the Op at the same index.
type OpResponse struct {
	Range *RangeResponse // 1
	Put   *PutResponse   // 2
}

// TxnResponse is etcdserverpb.TxnResponse.
type TxnResponse struct {
	Header    ResponseHeader // 1
	Succeeded bool           // 2
	Responses []OpResponse   // 3
}

// StatusResponse is etcdserverpb.StatusResponse (downgrade info skipped).
type StatusResponse struct {
	Header           ResponseHeader // 1
	Version          string         // 2
	DBSize           int64          // 3
	Leader           uint64         // 4
	RaftIndex        uint64         // 5
	RaftTerm         uint64         // 6
	RaftAppliedIndex uint64         // 7
	Errors           []string       // 8
	DBSizeInUse      int64          // 9
	IsLearner        bool           // 10
	StorageVersion   string         // 11
	DBSizeQuota      int64          // 12
}

// AlarmType is etcdserverpb.AlarmType.
type AlarmType int32

// The alarm types.
const (
	AlarmNone    AlarmType = 0
	AlarmNoSpace AlarmType = 1
	AlarmCorrupt AlarmType = 2
)

// String is the alarm's name as etcd prints it.
func (a AlarmType) String() string {
	switch a {
	case AlarmNone:
		return "NONE"
	case AlarmNoSpace:
		return "NOSPACE"
	case AlarmCorrupt:
		return "CORRUPT"
	}
	return fmt.Sprintf("AlarmType(%d)", int32(a))
}

// AlarmMember is etcdserverpb.AlarmMember.
type AlarmMember struct {
	MemberID uint64    // 1
	Alarm    AlarmType // 2
}

// AlarmResponse is etcdserverpb.AlarmResponse.
type AlarmResponse struct {
	Header ResponseHeader // 1
	Alarms []AlarmMember  // 2
}

// SnapshotResponse is etcdserverpb.SnapshotResponse, one message of the
// snapshot stream.
type SnapshotResponse struct {
	Header         ResponseHeader // 1
	RemainingBytes uint64         // 2
	Blob           []byte         // 3
	Version        string         // 4
}

// PrefixEnd is the range end that makes a RangeRequest of key cover every
// key with that prefix (clientv3's GetPrefixRangeEnd): key with its last
// byte below 0xff incremented and what follows dropped; "\x00" (every key
// from key on) when there is none.
func PrefixEnd(key []byte) []byte {
	end := make([]byte, len(key))
	copy(end, key)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

// The protobuf wire format (protobuf.dev/programming-guides/encoding),
// the part these messages use. It is written here rather than taken from
// google.golang.org/protobuf/encoding/protowire, whose package
// initialisation reads the executable (internal/detrand), a cost every
// k3sca command would pay at start-up.

// wireType is a field's wire type, the low 3 bits of its tag.
type wireType uint8

const (
	wireVarint  wireType = 0
	wireFixed64 wireType = 1
	wireBytes   wireType = 2
	wireFixed32 wireType = 5
)

// errTruncated: a message ends inside a field.
var errTruncated = errors.New("truncated message")

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendTag(b []byte, num int, t wireType) []byte {
	return appendVarint(b, uint64(num)<<3|uint64(t))
}

// appendVarintField appends a varint field, also when v is 0.
func appendVarintField(b []byte, num int, v uint64) []byte {
	return appendVarint(appendTag(b, num, wireVarint), v)
}

func appendMessageField(b []byte, num int, msg []byte) []byte {
	b = appendTag(b, num, wireBytes)
	b = appendVarint(b, uint64(len(msg)))
	return append(b, msg...)
}

// appendBytesField appends a bytes field unless v is empty (proto3's
// default is not sent).
func appendBytesField(b []byte, num int, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return appendMessageField(b, num, v)
}

// consumeVarint reads a varint of at most 10 bytes.
func consumeVarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, 0, errTruncated
	case n < 0:
		return 0, 0, errors.New("varint overflows 64 bits")
	}
	return v, n, nil
}

func (r RangeRequest) marshal(b []byte) []byte {
	b = appendBytesField(b, 1, r.Key)
	return appendBytesField(b, 2, r.RangeEnd)
}

func (p PutRequest) marshal(b []byte) []byte {
	b = appendBytesField(b, 1, p.Key)
	return appendBytesField(b, 2, p.Value)
}

func (c Compare) marshal(b []byte) []byte {
	const equal, targetMod = 0, 2
	// result EQUAL is proto3's default and not sent (as clientv3 does not).
	b = appendVarintField(b, 2, targetMod)
	b = appendBytesField(b, 3, c.Key)
	return appendVarintField(b, 6, uint64(c.ModRevision))
}

func (o Op) marshal(b []byte) []byte {
	switch {
	case o.Range != nil:
		return appendMessageField(b, 1, o.Range.marshal(nil))
	case o.Put != nil:
		return appendMessageField(b, 2, o.Put.marshal(nil))
	}
	return b
}

func (t TxnRequest) marshal(b []byte) []byte {
	for _, c := range t.Compare {
		b = appendMessageField(b, 1, c.marshal(nil))
	}
	for _, o := range t.Success {
		b = appendMessageField(b, 2, o.marshal(nil))
	}
	for _, o := range t.Failure {
		b = appendMessageField(b, 3, o.marshal(nil))
	}
	return b
}

// Decoding.

// field is one decoded field: its number, wire type and value (bytes for
// the length-delimited type, the integer for varints and fixed types).
type field struct {
	num int
	typ wireType
	b   []byte
	x   uint64
}

// fields calls f for every field of the message b, in order. Groups
// (wire types 3 and 4, deprecated; etcd's messages have none) are refused.
func fields(b []byte, f func(field) error) error {
	for len(b) > 0 {
		tag, n, err := consumeVarint(b)
		if err != nil {
			return fmt.Errorf("tag: %w", err)
		}
		b = b[n:]
		fd := field{num: int(tag >> 3), typ: wireType(tag & 7)}
		if tag>>3 == 0 || tag>>3 > 1<<29-1 {
			return fmt.Errorf("invalid field number %d", tag>>3)
		}
		switch fd.typ {
		case wireVarint:
			fd.x, n, err = consumeVarint(b)
		case wireBytes:
			var l uint64
			l, n, err = consumeVarint(b)
			if err == nil && l > uint64(len(b)-n) {
				err = errTruncated
			}
			if err == nil {
				fd.b = b[n : n+int(l)]
				n += int(l)
			}
		case wireFixed32:
			if len(b) < 4 {
				err = errTruncated
			} else {
				fd.x, n = uint64(binary.LittleEndian.Uint32(b)), 4
			}
		case wireFixed64:
			if len(b) < 8 {
				err = errTruncated
			} else {
				fd.x, n = binary.LittleEndian.Uint64(b), 8
			}
		default:
			err = fmt.Errorf("unsupported wire type %d", fd.typ)
		}
		if err != nil {
			return fmt.Errorf("field %d: %w", fd.num, err)
		}
		b = b[n:]
		if err := f(fd); err != nil {
			return err
		}
	}
	return nil
}

// want checks a known field's wire type.
func (f field) want(t wireType) error {
	if f.typ != t {
		return fmt.Errorf("field %d: wire type %d, want %d", f.num, f.typ, t)
	}
	return nil
}

// varint is a known varint field's value.
func (f field) varint() (uint64, error) { return f.x, f.want(wireVarint) }

// bytes is a known length-delimited field's value.
func (f field) bytes() ([]byte, error) { return f.b, f.want(wireBytes) }

// decodeVarints decodes a message made only of varint fields into the
// pointers by field number; others are skipped.
func decodeVarints(b []byte, into map[int]*uint64) error {
	return fields(b, func(f field) error {
		p, ok := into[f.num]
		if !ok {
			return nil
		}
		v, err := f.varint()
		*p = v
		return err
	})
}

func (h *ResponseHeader) unmarshal(b []byte) error {
	var rev uint64
	err := decodeVarints(b, map[int]*uint64{1: &h.ClusterID, 2: &h.MemberID, 3: &rev, 4: &h.RaftTerm})
	h.Revision = int64(rev)
	return err
}

func (kv *KeyValue) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		var err error
		var x uint64
		switch f.num {
		case 1:
			kv.Key, err = f.bytes()
		case 2:
			x, err = f.varint()
			kv.CreateRevision = int64(x)
		case 3:
			x, err = f.varint()
			kv.ModRevision = int64(x)
		case 4:
			x, err = f.varint()
			kv.Version = int64(x)
		case 5:
			kv.Value, err = f.bytes()
		case 6:
			x, err = f.varint()
			kv.Lease = int64(x)
		}
		return err
	})
}

// header decodes a ResponseHeader field.
func header(f field, h *ResponseHeader) error {
	b, err := f.bytes()
	if err != nil {
		return err
	}
	return h.unmarshal(b)
}

func (r *RangeResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		var x uint64
		var err error
		switch f.num {
		case 1:
			return header(f, &r.Header)
		case 2:
			var m []byte
			if m, err = f.bytes(); err != nil {
				return err
			}
			var kv KeyValue
			if err := kv.unmarshal(m); err != nil {
				return fmt.Errorf("kvs: %w", err)
			}
			r.Kvs = append(r.Kvs, kv)
		case 3:
			x, err = f.varint()
			r.More = x != 0
		case 4:
			x, err = f.varint()
			r.Count = int64(x)
		}
		return err
	})
}

func (p *PutResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		if f.num == 1 {
			return header(f, &p.Header)
		}
		return nil
	})
}

func (o *OpResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		switch f.num {
		case 1:
			m, err := f.bytes()
			if err != nil {
				return err
			}
			o.Range = &RangeResponse{}
			return o.Range.unmarshal(m)
		case 2:
			m, err := f.bytes()
			if err != nil {
				return err
			}
			o.Put = &PutResponse{}
			return o.Put.unmarshal(m)
		}
		return nil
	})
}

func (t *TxnResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		switch f.num {
		case 1:
			return header(f, &t.Header)
		case 2:
			x, err := f.varint()
			t.Succeeded = x != 0
			return err
		case 3:
			m, err := f.bytes()
			if err != nil {
				return err
			}
			var o OpResponse
			if err := o.unmarshal(m); err != nil {
				return fmt.Errorf("responses: %w", err)
			}
			t.Responses = append(t.Responses, o)
		}
		return nil
	})
}

func (s *StatusResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		var x uint64
		var v []byte
		var err error
		switch f.num {
		case 1:
			return header(f, &s.Header)
		case 2:
			v, err = f.bytes()
			s.Version = string(v)
		case 3:
			x, err = f.varint()
			s.DBSize = int64(x)
		case 4:
			s.Leader, err = f.varint()
		case 5:
			s.RaftIndex, err = f.varint()
		case 6:
			s.RaftTerm, err = f.varint()
		case 7:
			s.RaftAppliedIndex, err = f.varint()
		case 8:
			v, err = f.bytes()
			s.Errors = append(s.Errors, string(v))
		case 9:
			x, err = f.varint()
			s.DBSizeInUse = int64(x)
		case 10:
			x, err = f.varint()
			s.IsLearner = x != 0
		case 11:
			v, err = f.bytes()
			s.StorageVersion = string(v)
		case 12:
			x, err = f.varint()
			s.DBSizeQuota = int64(x)
		}
		return err
	})
}

func (a *AlarmResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		switch f.num {
		case 1:
			return header(f, &a.Header)
		case 2:
			m, err := f.bytes()
			if err != nil {
				return err
			}
			var id, alarm uint64
			if err := decodeVarints(m, map[int]*uint64{1: &id, 2: &alarm}); err != nil {
				return fmt.Errorf("alarms: %w", err)
			}
			a.Alarms = append(a.Alarms, AlarmMember{MemberID: id, Alarm: AlarmType(alarm)})
		}
		return nil
	})
}

func (s *SnapshotResponse) unmarshal(b []byte) error {
	return fields(b, func(f field) error {
		var v []byte
		var err error
		switch f.num {
		case 1:
			return header(f, &s.Header)
		case 2:
			s.RemainingBytes, err = f.varint()
		case 3:
			s.Blob, err = f.bytes()
		case 4:
			v, err = f.bytes()
			s.Version = string(v)
		}
		return err
	})
}
