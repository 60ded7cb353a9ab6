package check

import (
	"cmp"
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// TsOrder checks that write timestamps follow real time: a write
// acknowledged before another write was sent has the lower ts, whatever
// shards and clients the two went through. That is what makes a read of
// several shards at one ts linearizable (docs/consistency.md, "STRONG
// across shards"); when shard leaders stamp writes from their own clocks,
// a leader whose clock is behind gives a later write a lower ts.
//
// Only acknowledged writes with a ts count, and every write must be sent
// once: a request re-sent under an acknowledged write's request id is
// answered with the first write's ts.
func TsOrder(h []history.Op) Result {
	r := newResult("ts-order")
	var writes []*history.Op
	for i := range h {
		op := &h[i]
		if op.Kind.IsWrite() && op.Outcome == history.Ok && op.Ts > 0 && !op.Hostile {
			writes = append(writes, op)
		}
	}
	r.Counts["writes"] = len(writes)
	byReturn := slices.Clone(writes)
	slices.SortFunc(byReturn, func(a, b *history.Op) int { return cmp.Compare(a.Return, b.Return) })
	slices.SortFunc(writes, func(a, b *history.Op) int { return cmp.Compare(a.Call, b.Call) })
	var highest *history.Op // the highest-ts write acknowledged so far
	i := 0
	for _, w := range writes {
		for ; i < len(byReturn) && byReturn[i].Return < w.Call; i++ {
			if highest == nil || byReturn[i].Ts > highest.Ts {
				highest = byReturn[i]
			}
		}
		if highest != nil && highest.Ts >= w.Ts {
			r.add(AnomalyTsReversed, []int{highest.ID, w.ID},
				"write %d (key %d) was acknowledged at ts %d before write %d (key %d) was sent, which got ts %d",
				highest.ID, highest.Key, highest.Ts, w.ID, w.Key, w.Ts)
		}
	}
	return r.done()
}
