package check

import "github.com/raftvec/raftvec/jepsen/history"

// Hostile checks that every request sent with a session token or as-of ts
// far in the future (Op.Hostile) was refused: one that was acknowledged
// moved, or could have moved, a shard's clock. An unknown outcome proves
// nothing either way (the request may not have reached a replica).
func Hostile(h []history.Op) Result {
	r := newResult("hostile")
	for i := range h {
		op := &h[i]
		if !op.Hostile {
			continue
		}
		r.Counts["requests"]++
		if op.Outcome == history.Ok {
			r.add(AnomalyHostileAccepted, []int{op.ID}, "%s %d with a far-future session token or as-of ts was served (ts %d)", op.Kind, op.ID, op.Ts)
		}
	}
	return r.done()
}
