package workload

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/jepsen/history"
)

func TestVectorRoundTrip(t *testing.T) {
	for _, kv := range [][2]int64{{0, 0}, {1, 1}, {5, 123456}, {MaxCode, MaxCode}, {77, 1}} {
		v := Vector(kv[0], kv[1])
		if len(v) != Dim {
			t.Fatalf("Vector has %d components, want %d", len(v), Dim)
		}
		k, ver, ok := Decode(v)
		if !ok || k != kv[0] || ver != kv[1] {
			t.Fatalf("Decode(Vector(%d, %d)) = %d, %d, %v", kv[0], kv[1], k, ver, ok)
		}
		for i := range Dim - 2 {
			if v[i] < 0 || v[i] >= 1 {
				t.Fatalf("component %d = %g, want [0, 1)", i, v[i])
			}
		}
	}
	if SquaredL2(Vector(3, 9), Vector(3, 9)) != 0 {
		t.Fatal("a vector is not at distance 0 from itself")
	}
	if SquaredL2(Vector(3, 9), Vector(3, 10)) == 0 {
		t.Fatal("two versions of a key share a vector")
	}
}

func TestDecodeRejectsForeignVectors(t *testing.T) {
	v := Vector(4, 40)
	v[0] += 0.25 // the key and version still decode, the rest does not match
	if _, _, ok := Decode(v); ok {
		t.Fatal("a tampered vector decoded")
	}
	r := rand.New(rand.NewPCG(1, 1))
	if _, _, ok := Decode(RandomQuery(r)); ok {
		t.Fatal("a random query decoded as a written vector")
	}
	for _, bad := range [][]float32{
		nil,
		make([]float32, Dim-1),
		append(make([]float32, Dim-1), 0.5/codeScale), // version not an integer
		append(make([]float32, Dim-2), -1, 0),
		append(make([]float32, Dim-2), float32(math.Inf(1)), 0),
	} {
		if _, _, ok := Decode(bad); ok {
			t.Fatalf("Decode(%v) succeeded", bad)
		}
	}
}

func TestDecodeHitVector(t *testing.T) {
	v := Vector(9, 99)
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	got := decodeHitVector(b)
	if k, ver, ok := Decode(got); !ok || k != 9 || ver != 99 {
		t.Fatalf("decoded hit vector = %v (%d, %d, %v)", got, k, ver, ok)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want history.Outcome
	}{
		{nil, history.Ok},
		{status.Error(codes.InvalidArgument, "primary key 3 already exists"), history.Fail},
		{status.Error(codes.NotFound, "collection"), history.Fail},
		{status.Error(codes.FailedPrecondition, "x"), history.Fail},
		{status.Error(codes.OutOfRange, "ts too old"), history.Fail},
		{status.Error(codes.Unavailable, "not the leader"), history.Unknown},
		{status.Error(codes.DeadlineExceeded, "behind"), history.Unknown},
		{status.Error(codes.Internal, "x"), history.Unknown},
		{status.Error(codes.Canceled, "x"), history.Unknown},
		{context.DeadlineExceeded, history.Unknown},
		{errors.New("connection refused"), history.Unknown},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Fatalf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	for _, name := range Names() {
		w, err := New(name, "c")
		if err != nil || w.Name() != name {
			t.Fatalf("New(%q) = %v, %v", name, w, err)
		}
	}
	if _, err := New("bank", "c"); err == nil {
		t.Fatal("an unknown workload was accepted")
	}
}

func TestVersionLog(t *testing.T) {
	l := newVersionLog()
	r := rand.New(rand.NewPCG(1, 2))
	if _, ok := l.pick(r, 1); ok {
		t.Fatal("picked a version of a key never written")
	}
	for v := int64(1); v <= 20; v++ {
		l.add(1, v)
	}
	for range 100 {
		v, ok := l.pick(r, 1)
		if !ok || v < 13 || v > 20 {
			t.Fatalf("picked %d, want one of the 8 most recent versions", v)
		}
	}
}

func TestDoRecordsOutcomesAndMovesOnAfterUnknownWrites(t *testing.T) {
	var clock int64
	e := &Env{Rec: history.NewRecorder(func() int64 { clock += 10; return clock }, nil), OpTimeout: time.Second, Workers: 10}
	w := &Worker{Index: 3, Process: 3, env: e}
	ok := w.Do(history.Op{Kind: history.Upsert, Key: 1, Value: 7}, func(ctx context.Context, op *history.Op) error {
		if _, has := ctx.Deadline(); !has {
			t.Error("operation without a deadline")
		}
		op.Ts = 99
		return nil
	})
	if ok.Outcome != history.Ok || ok.Process != 3 || ok.Ts != 99 || ok.Return <= ok.Call {
		t.Fatalf("ok op recorded as %+v", ok)
	}
	failedRead := w.Do(history.Op{Kind: history.Get, Key: 1, Level: history.Strong}, func(ctx context.Context, op *history.Op) error {
		op.Value = 7
		return status.Error(codes.DeadlineExceeded, "behind")
	})
	if failedRead.Outcome != history.Unknown || failedRead.Value != history.Absent || w.Process != 3 {
		t.Fatalf("failed read recorded as %+v (process now %d)", failedRead, w.Process)
	}
	unknown := w.Do(history.Op{Kind: history.Delete, Key: 1}, func(ctx context.Context, op *history.Op) error {
		return status.Error(codes.Unavailable, "leadership lost")
	})
	if unknown.Outcome != history.Unknown || unknown.Process != 3 || w.Process != 13 || unknown.Error == "" {
		t.Fatalf("unknown write recorded as %+v; worker process %d, want 13", unknown, w.Process)
	}
	fail := w.Do(history.Op{Kind: history.Insert, Key: 2, Value: 2}, func(ctx context.Context, op *history.Op) error {
		return status.Error(codes.InvalidArgument, "primary key 2 already exists")
	})
	if fail.Outcome != history.Fail || fail.Process != 13 || w.Process != 13 {
		t.Fatalf("failed write recorded as %+v", fail)
	}
	if err := history.Validate(e.Rec.Ops()); err != nil {
		t.Fatal(err)
	}
}
