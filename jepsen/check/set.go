package check

import (
	"cmp"
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// Set checks the unique-insert workload: Insert (or Upsert) of distinct keys,
// ReadAll reads of every key, and Final ReadAll reads after heal.
//
//   - lost: a Final read misses a key whose insert was acknowledged, or a key
//     that an earlier STRONG read (returned before the final read began)
//     contained, whatever its insert's outcome.
//   - unexpected: any successful read contains a key no insert invoked
//     before the read returned could have written; failed-visible when the
//     only such inserts failed definitely.
//   - stale-read: a STRONG read misses a key whose insert was acknowledged
//     before the read was invoked.
//   - non-monotonic: a STRONG read misses a key that a STRONG read which
//     returned before it was invoked contained.
//   - no-final-read: there is no successful Final read to check against.
//
// Unknown inserts may or may not appear. Keys with any Delete in the history
// are left out of the lost, stale and non-monotonic checks (the set only
// grows); they are counted as "keys-with-deletes".
func Set(h []history.Op) Result {
	r := newResult("set")
	h = wellFormed(r, h)

	type keyInfo struct {
		key        int64
		firstLive  int64 // earliest call of an insert that did not fail; never if none
		firstFail  int64 // earliest call of an insert that failed; never if none
		ackReturn  int64 // earliest acknowledgement of an insert; never if none
		insertID   int   // the insert acknowledged at ackReturn
		seenReturn int64 // earliest return of a strong read containing it; never if none
		seenBy     int   // that read
		deleted    bool
		stamp      int // last read (1-based) containing the key
	}
	keys := map[int64]*keyInfo{}
	info := func(k int64) *keyInfo {
		ki := keys[k]
		if ki == nil {
			ki = &keyInfo{key: k, firstLive: never, firstFail: never, ackReturn: never, insertID: -1, seenReturn: never, seenBy: -1}
			keys[k] = ki
		}
		return ki
	}
	var reads []*history.Op
	for i := range h {
		op := &h[i]
		switch op.Kind {
		case history.Insert, history.Upsert:
			r.Counts["inserts"]++
			r.Counts["inserts-"+string(op.Outcome)]++
			ki := info(op.Key)
			switch op.Outcome {
			case history.Fail:
				ki.firstFail = min(ki.firstFail, op.Call)
			case history.Ok:
				if op.Return < ki.ackReturn {
					ki.ackReturn, ki.insertID = op.Return, op.ID
				}
				fallthrough
			default:
				ki.firstLive = min(ki.firstLive, op.Call)
			}
		case history.Delete:
			info(op.Key).deleted = true
		case history.ReadAll:
			if op.Outcome != history.Ok {
				continue
			}
			reads = append(reads, op)
			r.Counts["reads"]++
			if op.Final {
				r.Counts["final-reads"]++
			}
		}
	}
	slices.SortFunc(reads, func(a, b *history.Op) int { return byCall(*a, *b) })

	// unexpected / failed-visible, for reads at any level; and when each key
	// was first seen by a strong read.
	for _, rd := range reads {
		isStrong := rd.Level == history.Strong && !rd.Final
		for _, k := range rd.Keys {
			ki := keys[k]
			if ki == nil || ki.firstLive > rd.Return {
				if ki != nil && ki.firstFail <= rd.Return {
					r.add(AnomalyFailedVisible, []int{rd.ID}, "read %d contains key %d whose inserts all failed definitely", rd.ID, k)
				} else {
					r.add(AnomalyUnexpected, []int{rd.ID}, "read %d contains key %d that no insert invoked before the read returned could have written", rd.ID, k)
				}
				continue
			}
			if isStrong && rd.Return < ki.seenReturn {
				ki.seenReturn, ki.seenBy = rd.Return, rd.ID
			}
		}
	}

	// Keys in the order they became due: acknowledged, or seen by a strong
	// read. A strong read must contain every key due before it began.
	var due []*keyInfo
	for _, ki := range keys {
		if ki.deleted {
			r.Counts["keys-with-deletes"]++
			continue
		}
		if min(ki.ackReturn, ki.seenReturn) < never {
			due = append(due, ki)
		}
	}
	dueAt := func(ki *keyInfo) int64 { return min(ki.ackReturn, ki.seenReturn) }
	slices.SortFunc(due, func(a, b *keyInfo) int {
		if c := cmp.Compare(dueAt(a), dueAt(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	for n, rd := range reads {
		if rd.Level != history.Strong && !rd.Final {
			continue
		}
		stamp := n + 1
		for _, k := range rd.Keys {
			if ki := keys[k]; ki != nil {
				ki.stamp = stamp
			}
		}
		for _, ki := range due {
			if dueAt(ki) >= rd.Call {
				break
			}
			if ki.stamp == stamp {
				continue
			}
			acked := ki.ackReturn < rd.Call
			switch {
			case rd.Final && acked:
				r.add(AnomalyLost, []int{ki.insertID, rd.ID}, "key %d: insert %d acknowledged, missing from final read %d", ki.key, ki.insertID, rd.ID)
			case rd.Final:
				r.add(AnomalyLost, []int{ki.seenBy, rd.ID}, "key %d: seen by strong read %d, missing from final read %d", ki.key, ki.seenBy, rd.ID)
			case acked:
				r.add(AnomalyStaleRead, []int{rd.ID, ki.insertID}, "key %d: insert %d acknowledged before strong read %d began, missing from it", ki.key, ki.insertID, rd.ID)
			default:
				r.add(AnomalyNonMonotonic, []int{rd.ID, ki.seenBy}, "key %d: seen by strong read %d which returned before strong read %d began, missing from it", ki.key, ki.seenBy, rd.ID)
			}
		}
	}

	if r.Counts["final-reads"] == 0 {
		r.add(AnomalyNoFinalRead, nil, "no successful final read: lost inserts cannot be ruled out")
		return r.done()
	}
	// How the unknown inserts turned out, by the last final read.
	var last *history.Op
	for _, rd := range reads {
		if rd.Final && (last == nil || rd.Call > last.Call) {
			last = rd
		}
	}
	present := make(map[int64]bool, len(last.Keys))
	for _, k := range last.Keys {
		present[k] = true
	}
	for _, ki := range keys {
		if ki.deleted || ki.ackReturn < never || ki.firstLive == never {
			continue
		}
		if present[ki.key] {
			r.Counts["unknown-present"]++
		} else {
			r.Counts["unknown-absent"]++
		}
	}
	return r.done()
}

type insertSet struct {
	live   []*history.Op // Ok or Unknown
	failed bool
}

// insertsOf returns the inserts of key invoked no later than ret.
func insertsOf(w *writes, key int64, ret int64) insertSet {
	var s insertSet
	for _, op := range w.byKey[key] {
		if op.Kind == history.Delete || op.Call > ret {
			continue
		}
		if op.Outcome == history.Fail {
			s.failed = true
			continue
		}
		s.live = append(s.live, op)
	}
	return s
}
