package check

import (
	"slices"
	"testing"
	"time"

	"github.com/raftvec/raftvec/jepsen/history"
)

// Shorthands for handcrafted histories. Times are plain integers; IDs are
// assigned by position in mk.

const absent = history.Absent

func mk(ops ...history.Op) []history.Op {
	for i := range ops {
		ops[i].ID = i
	}
	return ops
}

func write(kind history.Kind, p int, key, v, call, ret int64, out history.Outcome) history.Op {
	if kind == history.Delete {
		v = 0
	}
	return history.Op{Process: p, Kind: kind, Key: key, Value: v, Call: call, Return: ret, Outcome: out}
}

func upsert(p int, key, v, call, ret int64, out history.Outcome) history.Op {
	return write(history.Upsert, p, key, v, call, ret, out)
}

func insert(p int, key, call, ret int64, out history.Outcome) history.Op {
	return write(history.Insert, p, key, key, call, ret, out)
}

func del(p int, key, call, ret int64, out history.Outcome) history.Op {
	return write(history.Delete, p, key, 0, call, ret, out)
}

func withTs(o history.Op, ts uint64) history.Op { o.Ts = ts; return o }

func get(p int, lvl history.Level, key, v, call, ret int64) history.Op {
	return history.Op{Process: p, Kind: history.Get, Level: lvl, Key: key, Value: v, Call: call, Return: ret, Outcome: history.Ok}
}

func bounded(p int, staleness time.Duration, key, v, call, ret int64) history.Op {
	o := get(p, history.Bounded, key, v, call, ret)
	o.MaxStaleness = staleness
	return o
}

// probe of (key, v); found is the version of key in the results, or absent.
func probe(p int, key, v, found, call, ret int64) history.Op {
	o := history.Op{Process: p, Kind: history.Probe, Level: history.Strong, Key: key, Value: v, Call: call, Return: ret, Outcome: history.Ok}
	if found != absent {
		o.Keys, o.Values = []int64{key}, []int64{found}
	}
	return o
}

func readAll(p int, lvl history.Level, keys []int64, call, ret int64) history.Op {
	return history.Op{Process: p, Kind: history.ReadAll, Level: lvl, Keys: keys, Call: call, Return: ret, Outcome: history.Ok}
}

func final(o history.Op) history.Op { o.Final = true; return o }

func search(p int, lvl history.Level, keys, values []int64, call, ret int64) history.Op {
	return history.Op{Process: p, Kind: history.Search, Level: lvl, Keys: keys, Values: values, Call: call, Return: ret, Outcome: history.Ok}
}

const (
	ok      = history.Ok
	fail    = history.Fail
	unknown = history.Unknown
	strong  = history.Strong
	session = history.Session
	eventl  = history.Eventual
)

// expect asserts the verdict and that the anomaly kinds found are exactly
// kinds (as a set).
func expect(t *testing.T, res Result, kinds ...string) {
	t.Helper()
	var got []string
	for _, a := range res.Anomalies {
		if !slices.Contains(got, a.Kind) {
			got = append(got, a.Kind)
		}
	}
	slices.Sort(got)
	want := slices.Clone(kinds)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: anomaly kinds %v, want %v; anomalies: %+v", res.Name, got, want, res.Anomalies)
	}
	if res.Valid != (len(kinds) == 0) {
		t.Fatalf("%s: Valid = %v with anomalies %+v", res.Name, res.Valid, res.Anomalies)
	}
	for _, a := range res.Anomalies {
		if a.Message == "" {
			t.Fatalf("%s: anomaly without a message: %+v", res.Name, a)
		}
		if res.Counts[a.Kind] == 0 {
			t.Fatalf("%s: anomaly kind %s not counted: %v", res.Name, a.Kind, res.Counts)
		}
	}
}

// anomalyOps returns the op lists of the anomalies of one kind.
func anomalyOps(res Result, kind string) [][]int {
	var out [][]int
	for _, a := range res.Anomalies {
		if a.Kind == kind {
			out = append(out, a.Ops)
		}
	}
	return out
}

type historyCase struct {
	name  string
	h     []history.Op
	kinds []string // empty: valid
}

func runCases(t *testing.T, check func([]history.Op) Result, cases []historyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := history.Validate(tc.h); err != nil && !slices.Contains(tc.kinds, AnomalyMalformed) {
				t.Fatalf("handcrafted history is malformed: %v", err)
			}
			expect(t, check(tc.h), tc.kinds...)
		})
	}
}
