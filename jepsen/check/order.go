package check

import (
	"math"

	"github.com/raftvec/raftvec/jepsen/history"
)

// never is the return time of an Unknown operation: its effect may land at
// any moment after its call.
const never = math.MaxInt64

// returned is when op's effect was certainly in place (never for Unknown).
func returned(op *history.Op) int64 {
	if op.Outcome != history.Ok {
		return never
	}
	return op.Return
}

// version is a state of one key: the initial absence (op == nil) or the
// state a write produced.
type version struct {
	op *history.Op
}

func (v version) initial() bool { return v.op == nil }

// before reports whether a is definitely earlier than b in the key's order
// of versions: the initial absence precedes every write; a write precedes
// another if it was acknowledged before the other was invoked, or if both
// were acknowledged with server timestamps and a's is smaller.
func before(a, b version) bool {
	switch {
	case b.initial():
		return false
	case a.initial():
		return true
	case a.op == b.op:
		return false
	}
	if a.op.Outcome == history.Ok && b.op.Outcome == history.Ok && a.op.Ts != 0 && b.op.Ts != 0 && a.op.Ts < b.op.Ts {
		return true
	}
	return returned(a.op) < b.op.Call
}

// allBefore reports whether every version in c is definitely before every
// version in f: a read that can only be explained by c is older than
// anything f could be.
func allBefore(c, f []version) bool {
	if len(c) == 0 || len(f) == 0 {
		return false
	}
	for _, x := range c {
		for _, y := range f {
			if !before(x, y) {
				return false
			}
		}
	}
	return true
}

// writes indexes the writes of a history by key.
type writes struct {
	byKey map[int64][]*history.Op // Insert, Upsert and Delete, every outcome
}

func indexWrites(h []history.Op) *writes {
	w := &writes{byKey: map[int64][]*history.Op{}}
	for i := range h {
		if h[i].Kind.IsWrite() {
			w.byKey[h[i].Key] = append(w.byKey[h[i].Key], &h[i])
		}
	}
	return w
}

// explain returns the versions of key that could have produced the observed
// value in a read that returned at ret: the writes of that value (or, for
// Absent, the initial state and the deletes) not known to have failed and
// invoked before the read returned. failedOnly reports that writes of the
// value exist but all failed definitely.
func (w *writes) explain(key, value int64, ret int64) (vs []version, failedOnly bool) {
	if value == history.Absent {
		vs = append(vs, version{})
	}
	var failed bool
	for _, op := range w.byKey[key] {
		if op.Call > ret {
			continue
		}
		var match bool
		if value == history.Absent {
			match = op.Kind == history.Delete
		} else {
			match = op.Kind != history.Delete && op.Value == value
		}
		if !match {
			continue
		}
		if op.Outcome == history.Fail {
			failed = true
			continue
		}
		vs = append(vs, version{op})
	}
	return vs, len(vs) == 0 && failed
}

// mustSee reports whether read r had to reflect write w by its level: w was
// acknowledged before the read's freshness cutoff.
func mustSee(w, r *history.Op) bool {
	if w.Outcome != history.Ok {
		return false
	}
	switch {
	case r.Final, r.Level == history.Strong:
		return w.Return < r.Call
	case r.Level == history.Bounded:
		return w.Return < r.Call-int64(r.MaxStaleness)
	case r.Level == history.Session:
		return w.Process == r.Process && w.Return < r.Call
	}
	return false
}

// pointRead is the version of one key a read observed.
type pointRead struct {
	key, value int64
}

// observe returns the version of a key that a Get, or a Probe that found its
// key, observed.
func observe(op *history.Op) (pointRead, bool) {
	switch op.Kind {
	case history.Get:
		return pointRead{op.Key, op.Value}, true
	case history.Probe:
		if v, ok := probeFound(op); ok {
			return pointRead{op.Key, v}, true
		}
	}
	return pointRead{}, false
}

// probeFound returns the version at which a Probe found its key: the aligned
// version, or the probed one when versions were not recorded.
func probeFound(op *history.Op) (int64, bool) {
	i, ok := op.Contains(op.Key)
	if !ok {
		return history.Absent, false
	}
	if len(op.Values) == len(op.Keys) {
		return op.Values[i], true
	}
	return op.Value, true
}

func opIDs(vs []version) []int {
	var ids []int
	for _, v := range vs {
		if !v.initial() {
			ids = append(ids, v.op.ID)
		}
	}
	return ids
}

func versionString(v int64) string {
	if v == history.Absent {
		return "absent"
	}
	return itoa(v)
}
