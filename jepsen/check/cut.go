package check

import (
	"cmp"
	"math"
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// Cut checks that every STRONG read of several keys in one request (the
// Gets one process recorded with the same call time, as workload.GetKeys
// does) is a cut that real time allows: if it saw write wa of key a, then
// for every write wb of another key b that completed before wa began, it
// saw wb of b or a write that may follow it, not one that completed
// before wb began. The per-key register check cannot see this: each key
// on its own may be linearizable while the keys together are not (a read
// across shards whose leaders' clocks differ, cut at one ts, sees a later
// write on one shard and misses an earlier one on another).
//
// Versions are unique per run, so the write a read saw is known. A read
// that found b absent missed wb unless a delete of b could have come after
// wb and before the read returned.
func Cut(h []history.Op) Result {
	r := newResult("cut")
	writes := map[[2]int64]*history.Op{} // (key, version) -> upsert or insert
	byKey := map[int64][]*history.Op{}   // writes of a key
	reads := map[[2]int64][]*history.Op{}
	for i := range h {
		op := &h[i]
		switch {
		case op.Kind.IsWrite():
			if op.Kind != history.Delete {
				writes[[2]int64{op.Key, op.Value}] = op
			}
			byKey[op.Key] = append(byKey[op.Key], op)
		case op.Kind == history.Get && op.Level == history.Strong && op.Outcome == history.Ok && !op.Final:
			id := [2]int64{int64(op.Process), op.Call}
			reads[id] = append(reads[id], op)
		}
	}
	ids := slices.SortedFunc(func(yield func([2]int64) bool) {
		for id := range reads {
			if !yield(id) {
				return
			}
		}
	}, func(a, b [2]int64) int { return cmp.Or(cmp.Compare(a[1], b[1]), cmp.Compare(a[0], b[0])) })
	for _, id := range ids {
		read := reads[id]
		if len(read) < 2 {
			continue
		}
		r.Counts["reads across keys"]++
		for _, a := range read {
			wa := writes[[2]int64{a.Key, a.Value}]
			if a.Value == history.Absent || wa == nil {
				continue
			}
			for _, b := range read {
				if b.Key == a.Key {
					continue
				}
				if wb := missed(b, wa.Call, writes, byKey[b.Key]); wb != nil {
					r.add(AnomalyTornCut, []int{a.ID, b.ID, wa.ID, wb.ID},
						"read %d saw version %d of key %d (write %d) but version %d of key %d, older than write %d, which completed before write %d began",
						a.ID, a.Value, a.Key, wa.ID, b.Value, b.Key, wb.ID, wa.ID)
					break
				}
			}
		}
	}
	return r.done()
}

// missed returns a write of b's key that completed before `before` and
// that the read b cannot have seen past, or nil.
func missed(b *history.Op, before int64, writes map[[2]int64]*history.Op, ofKey []*history.Op) *history.Op {
	returned := func(op *history.Op) int64 {
		if op.Outcome != history.Ok {
			return math.MaxInt64 // may take effect at any time after its call
		}
		return op.Return
	}
	seen := writes[[2]int64{b.Key, b.Value}]
	for _, wb := range ofKey {
		if wb.Outcome != history.Ok || wb.Return >= before || wb == seen {
			continue
		}
		if b.Value != history.Absent {
			if seen != nil && returned(seen) < wb.Call {
				return wb // the version read completed before wb began
			}
			continue
		}
		if wb.Kind == history.Delete {
			continue
		}
		// Absent: missed wb unless a delete may come after wb and before
		// the read returned.
		deleted := false
		for _, d := range ofKey {
			if d.Kind == history.Delete && d.Outcome != history.Fail && returned(d) > wb.Call && d.Call < b.Return {
				deleted = true
				break
			}
		}
		if !deleted {
			return wb
		}
	}
	return nil
}
