package check

import (
	"github.com/raftvec/raftvec/jepsen/history"
)

// Bounded checks that a BOUNDED point read (Get, or a Probe that found its
// key with a version) never returns a version definitely before a write of
// the key acknowledged before invoke − max_staleness, and never a version no
// write invoked before it returned produced (phantom). Writes whose outcome
// is unknown never make a read stale: they may not have happened.
func Bounded(h []history.Op) Result {
	r := newResult("bounded")
	h = wellFormed(r, h)
	w := indexWrites(h)
	for i := range h {
		rd := &h[i]
		if rd.Outcome != history.Ok || rd.Level != history.Bounded {
			continue
		}
		obs, ok := observe(rd)
		if !ok {
			continue
		}
		r.Counts["reads"]++
		vs, failedOnly := w.explain(obs.key, obs.value, rd.Return)
		if len(vs) == 0 {
			why := "no write invoked before it returned produced it"
			if failedOnly {
				why = "its only writes failed definitely"
			}
			r.add(AnomalyPhantom, []int{rd.ID}, "bounded read %d of key %d returned version %s: %s",
				rd.ID, obs.key, versionString(obs.value), why)
			continue
		}
		var newest *history.Op
		for _, wr := range w.byKey[obs.key] {
			if !mustSee(wr, rd) || !allBefore(vs, []version{{wr}}) {
				continue
			}
			if newest == nil || wr.Return > newest.Return {
				newest = wr
			}
		}
		if newest != nil {
			r.add(AnomalyStaleBounded, append([]int{rd.ID, newest.ID}, opIDs(vs)...),
				"bounded read %d (max staleness %s) of key %d returned version %s, older than write %d acknowledged %s before the read began",
				rd.ID, rd.MaxStaleness, obs.key, versionString(obs.value), newest.ID, nanos(rd.Call-newest.Return))
		}
	}
	return r.done()
}
