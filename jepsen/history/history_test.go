package history

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleOps() []Op {
	big := make([]int64, 20000) // a line longer than bufio.Scanner's default limit
	for i := range big {
		big[i] = int64(i) * 7919
	}
	return []Op{
		{ID: 0, Process: 1, Kind: Upsert, Key: 3, Value: 42, Call: 10, Return: 20, Outcome: Ok, Ts: 99, SessionToken: 99, Node: "n1"},
		{ID: 1, Process: 2, Kind: Get, Key: 3, Value: Absent, Level: Bounded, MaxStaleness: 250 * time.Millisecond, Call: 11, Return: 30, Outcome: Ok},
		{ID: 2, Process: 3, Kind: Search, Keys: []int64{3, 4}, Values: []int64{42, 7}, Distances: []float32{0, 1.5}, Level: Strong, Call: 12, Return: 40, Outcome: Ok},
		{ID: 3, Process: 4, Kind: ReadAll, Keys: big, Level: Strong, Final: true, Call: 50, Return: 60, Outcome: Ok},
		{ID: 4, Process: 1, Kind: Delete, Key: 3, Call: 21, Return: 1000, Outcome: Unknown, Error: "context deadline exceeded"},
	}
}

func TestRoundTrip(t *testing.T) {
	ops := sampleOps()
	var buf bytes.Buffer
	if err := Write(&buf, ops); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "\n"); got != len(ops) {
		t.Fatalf("lines = %d, want %d", got, len(ops))
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ops) {
		t.Fatalf("round trip changed the history:\n got %+v\nwant %+v", got[:3], ops[:3])
	}
	if got[1].Value != Absent {
		t.Fatalf("Absent not preserved: %d", got[1].Value)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	ops := sampleOps()
	hp := filepath.Join(dir, "history.jsonl")
	if err := WriteFile(hp, ops); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(hp)
	if err != nil || !reflect.DeepEqual(got, ops) {
		t.Fatalf("ReadFile = %d ops, %v", len(got), err)
	}
	evs := []NemesisEvent{
		{Time: 5, End: 50, Kind: "partition", Description: "isolate leader n1", Nodes: []string{"n1"}},
		{Time: 60, Kind: "kill", Description: "kill -9 n2", Nodes: []string{"n2"}},
	}
	np := filepath.Join(dir, "nemesis.jsonl")
	if err := WriteNemesisFile(np, evs); err != nil {
		t.Fatal(err)
	}
	gotEvs, err := ReadNemesisFile(np)
	if err != nil || !reflect.DeepEqual(gotEvs, evs) {
		t.Fatalf("ReadNemesisFile = %+v, %v", gotEvs, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Fatal("reading a missing file succeeded")
	}
}

func TestReadRejectsBadLines(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		line string
	}{
		"truncated":     {`{"id":0,"kind":"get","outcome":"ok"}` + "\n" + `{"id":1,"kin`, "line 2"},
		"unknown field": {"\n" + `{"id":0,"colour":"red"}`, "line 2"},
		"wrong type":    {`{"id":"zero"}`, "line 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.line) {
				t.Fatalf("err = %v, want one naming %s", err, tc.line)
			}
		})
	}
	ops, err := Read(strings.NewReader("\n\n" + `{"id":7,"kind":"get","level":"strong","outcome":"ok"}` + "\n\n"))
	if err != nil || len(ops) != 1 || ops[0].ID != 7 {
		t.Fatalf("blank lines: %+v, %v", ops, err)
	}
}

func TestValidate(t *testing.T) {
	good := Op{Kind: Get, Level: Strong, Outcome: Ok, Call: 1, Return: 2}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid op rejected: %v", err)
	}
	for name, tc := range map[string]struct {
		mut  func(*Op)
		want string
	}{
		"unknown kind":       {func(o *Op) { o.Kind = "scan" }, "unknown kind"},
		"read without level": {func(o *Op) { o.Level = "" }, "level"},
		"write with level":   {func(o *Op) { o.Kind = Upsert; o.Value = 1 }, "write has level"},
		"unknown outcome":    {func(o *Op) { o.Outcome = "maybe" }, "unknown outcome"},
		"return before call": {func(o *Op) { o.Return = 0 }, "before call"},
		"values misaligned":  {func(o *Op) { o.Keys = []int64{1, 2}; o.Values = []int64{1} }, "values"},
		"distances":          {func(o *Op) { o.Keys = []int64{1}; o.Distances = []float32{1, 2} }, "distances"},
		"negative staleness": {func(o *Op) { o.MaxStaleness = -1 }, "max_staleness"},
		"absent written": {func(o *Op) {
			o.Kind, o.Level, o.Value = Insert, "", Absent
		}, "Absent"},
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			tc.mut(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := Validate([]Op{good, good}); err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Fatalf("duplicate ids: %v", err)
	}
}

func TestRecorder(t *testing.T) {
	var sink bytes.Buffer
	var clock int64
	var cmu sync.Mutex
	r := NewRecorder(func() int64 { cmu.Lock(); defer cmu.Unlock(); clock++; return clock }, &sink)
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				call := r.Now()
				r.Record(Op{Process: p, Kind: Upsert, Key: int64(p), Value: int64(i), Call: call, Return: r.Now(), Outcome: Ok})
			}
		}()
	}
	wg.Wait()
	ops := r.Ops()
	if len(ops) != 400 {
		t.Fatalf("recorded %d ops, want 400", len(ops))
	}
	for i, o := range ops {
		if o.ID != i {
			t.Fatalf("ops[%d].ID = %d", i, o.ID)
		}
	}
	if err := Validate(ops); err != nil {
		t.Fatal(err)
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	streamed, err := Read(&sink)
	if err != nil || !reflect.DeepEqual(streamed, ops) {
		t.Fatalf("sink holds %d ops (%v), want the recorded history", len(streamed), err)
	}
}

func TestCounts(t *testing.T) {
	c := Counts(sampleOps())
	want := map[string]int{"ops": 5, "upsert": 1, "upsert:ok": 1, "get": 1, "get:ok": 1, "search": 1, "search:ok": 1,
		"read-all": 1, "read-all:ok": 1, "delete": 1, "delete:unknown": 1}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Counts = %v, want %v", c, want)
	}
}

func TestClockIsMonotonic(t *testing.T) {
	now := Clock(time.Now())
	a, b := now(), now()
	if a < 0 || b < a {
		t.Fatalf("clock went from %d to %d", a, b)
	}
}
