package etcdrpc

import (
	"reflect"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// TestMarshalMatchesEtcdAPI decodes what this package sends with etcd's
// own generated messages: every field lands where etcd reads it, the
// compare against revision 0 included (a oneof member set to 0, as
// clientv3's Compare(ModRevision(key), "=", 0) sends it).
func TestMarshalMatchesEtcdAPI(t *testing.T) {
	key, val := []byte("/bootstrap/0123456789ab"), []byte("ciphertext")
	tests := []struct {
		name string
		got  []byte
		into proto.Message
		want proto.Message
	}{
		{"range get", RangeRequest{Key: key}.marshal(nil), &pb.RangeRequest{}, &pb.RangeRequest{Key: key}},
		{"range prefix", RangeRequest{Key: []byte("/bootstrap"), RangeEnd: PrefixEnd([]byte("/bootstrap"))}.marshal(nil),
			&pb.RangeRequest{}, &pb.RangeRequest{Key: []byte("/bootstrap"), RangeEnd: []byte("/bootstraq")}},
		{"txn create", TxnRequest{
			Compare: []Compare{{Key: key, ModRevision: 0}},
			Success: []Op{{Put: &PutRequest{Key: key, Value: val}}},
		}.marshal(nil), &pb.TxnRequest{}, &pb.TxnRequest{
			Compare: []*pb.Compare{{Result: pb.Compare_EQUAL, Target: pb.Compare_MOD, Key: key, TargetUnion: &pb.Compare_ModRevision{ModRevision: 0}}},
			Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: key, Value: val}}}},
		}},
		{"txn update", TxnRequest{
			Compare: []Compare{{Key: key, ModRevision: 42}},
			Success: []Op{{Put: &PutRequest{Key: key, Value: val}}},
			Failure: []Op{{Range: &RangeRequest{Key: key}}},
		}.marshal(nil), &pb.TxnRequest{}, &pb.TxnRequest{
			Compare: []*pb.Compare{{Result: pb.Compare_EQUAL, Target: pb.Compare_MOD, Key: key, TargetUnion: &pb.Compare_ModRevision{ModRevision: 42}}},
			Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: key, Value: val}}}},
			Failure: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: key}}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := proto.Unmarshal(tt.got, tt.into); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(tt.into, tt.want) {
				t.Errorf("etcd reads %v, want %v", tt.into, tt.want)
			}
		})
	}
}

// TestUnmarshalMatchesEtcdAPI decodes responses marshalled by etcd's own
// generated messages.
func TestUnmarshalMatchesEtcdAPI(t *testing.T) {
	hdr := &pb.ResponseHeader{ClusterId: 1<<63 + 7, MemberId: 0xfeedface12345678, Revision: 99, RaftTerm: 3}
	want := ResponseHeader{ClusterID: 1<<63 + 7, MemberID: 0xfeedface12345678, Revision: 99, RaftTerm: 3}
	kv := &mvccpb.KeyValue{Key: []byte("/k"), CreateRevision: 5, ModRevision: 9, Version: 2, Value: []byte("v"), Lease: 11}
	wantKV := KeyValue{Key: []byte("/k"), CreateRevision: 5, ModRevision: 9, Version: 2, Value: []byte("v"), Lease: 11}
	tests := []struct {
		name   string
		msg    proto.Message
		decode func([]byte) (any, error)
		want   any
	}{
		{"range", &pb.RangeResponse{Header: hdr, Kvs: []*mvccpb.KeyValue{kv, kv}, More: true, Count: 2},
			func(b []byte) (any, error) { var r RangeResponse; return r, r.unmarshal(b) },
			RangeResponse{Header: want, Kvs: []KeyValue{wantKV, wantKV}, More: true, Count: 2}},
		{"txn failed with a range", &pb.TxnResponse{Header: hdr, Succeeded: false, Responses: []*pb.ResponseOp{
			{Response: &pb.ResponseOp_ResponseRange{ResponseRange: &pb.RangeResponse{Header: hdr, Kvs: []*mvccpb.KeyValue{kv}, Count: 1}}}}},
			func(b []byte) (any, error) { var r TxnResponse; return r, r.unmarshal(b) },
			TxnResponse{Header: want, Responses: []OpResponse{{Range: &RangeResponse{Header: want, Kvs: []KeyValue{wantKV}, Count: 1}}}}},
		{"txn succeeded with a put", &pb.TxnResponse{Header: hdr, Succeeded: true, Responses: []*pb.ResponseOp{
			{Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{Header: hdr}}}}},
			func(b []byte) (any, error) { var r TxnResponse; return r, r.unmarshal(b) },
			TxnResponse{Header: want, Succeeded: true, Responses: []OpResponse{{Put: &PutResponse{Header: want}}}}},
		{"status", &pb.StatusResponse{Header: hdr, Version: "3.6.5", DbSize: 20480, Leader: 12, RaftIndex: 13, RaftTerm: 14,
			RaftAppliedIndex: 15, Errors: []string{"a", "b"}, DbSizeInUse: 16384, IsLearner: true, StorageVersion: "3.6.0",
			DbSizeQuota: 1 << 31, DowngradeInfo: &pb.DowngradeInfo{Enabled: true, TargetVersion: "3.5.0"}},
			func(b []byte) (any, error) { var r StatusResponse; return r, r.unmarshal(b) },
			StatusResponse{Header: want, Version: "3.6.5", DBSize: 20480, Leader: 12, RaftIndex: 13, RaftTerm: 14,
				RaftAppliedIndex: 15, Errors: []string{"a", "b"}, DBSizeInUse: 16384, IsLearner: true, StorageVersion: "3.6.0", DBSizeQuota: 1 << 31}},
		{"alarm", &pb.AlarmResponse{Header: hdr, Alarms: []*pb.AlarmMember{{MemberID: 7, Alarm: pb.AlarmType_NOSPACE}, {MemberID: 8, Alarm: pb.AlarmType_CORRUPT}}},
			func(b []byte) (any, error) { var r AlarmResponse; return r, r.unmarshal(b) },
			AlarmResponse{Header: want, Alarms: []AlarmMember{{7, AlarmNoSpace}, {8, AlarmCorrupt}}}},
		{"snapshot", &pb.SnapshotResponse{Header: hdr, RemainingBytes: 1 << 40, Blob: []byte{0, 1, 2}, Version: "3.6.0"},
			func(b []byte) (any, error) { var r SnapshotResponse; return r, r.unmarshal(b) },
			SnapshotResponse{Header: want, RemainingBytes: 1 << 40, Blob: []byte{0, 1, 2}, Version: "3.6.0"}},
		{"kine's empty status", &pb.StatusResponse{Version: "3.6.11", DbSize: 4096},
			func(b []byte) (any, error) { var r StatusResponse; return r, r.unmarshal(b) },
			StatusResponse{Version: "3.6.11", DBSize: 4096}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestUnmarshalRefusesDamage: a truncated message or a known field with
// the wrong wire type is an error, never a silently partial response.
func TestUnmarshalRefusesDamage(t *testing.T) {
	good, err := proto.Marshal(&pb.RangeResponse{Kvs: []*mvccpb.KeyValue{{Key: []byte("/k"), Value: []byte("value")}}})
	if err != nil {
		t.Fatal(err)
	}
	wrongType := appendVarintField(nil, 2, 1)
	group := appendTag(nil, 2, 3)
	overflow := append(appendTag(nil, 4, wireVarint), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
	fieldZero := appendVarintField(nil, 0, 1)
	for name, b := range map[string][]byte{"truncated": good[:len(good)-2], "kvs as a varint": wrongType,
		"a group": group, "a varint over 64 bits": overflow, "field number 0": fieldZero} {
		t.Run(name, func(t *testing.T) {
			var r RangeResponse
			if err := r.unmarshal(b); err == nil {
				t.Errorf("decoded %+v, want an error", r)
			}
		})
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/bootstrap", "/bootstraq"},
		{"a\xff", "b"},
		{"\xff\xff", "\x00"},
		{"", "\x00"},
	}
	for _, tt := range tests {
		if got := string(PrefixEnd([]byte(tt.in))); got != tt.want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzUnmarshal: no input makes a decoder panic or loop.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range []proto.Message{
		&pb.RangeResponse{Kvs: []*mvccpb.KeyValue{{Key: []byte("/k"), Value: []byte("v"), ModRevision: 3}}},
		&pb.TxnResponse{Succeeded: true, Responses: []*pb.ResponseOp{{Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{}}}}},
		&pb.StatusResponse{Version: "3.6.5", Errors: []string{"x"}},
		&pb.AlarmResponse{Alarms: []*pb.AlarmMember{{MemberID: 1, Alarm: pb.AlarmType_NOSPACE}}},
		&pb.SnapshotResponse{Blob: []byte{1, 2, 3}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = (&RangeResponse{}).unmarshal(b)
		_ = (&TxnResponse{}).unmarshal(b)
		_ = (&StatusResponse{}).unmarshal(b)
		_ = (&AlarmResponse{}).unmarshal(b)
		_ = (&SnapshotResponse{}).unmarshal(b)
	})
}
