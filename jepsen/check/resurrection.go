package check

import (
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// NoResurrection checks that a deleted key does not come back: no successful
// read (Get, ReadAll, Search, Probe) returns a key whose delete it had to see
// by its level (see the package comment; Final reads see everything), unless
// an Insert or Upsert of that key that did not fail could have taken effect
// after the delete and before the read returned.
//
// EVENTUAL reads promise no freshness and are counted as "reads-unchecked".
func NoResurrection(h []history.Op) Result {
	r := newResult("no-resurrection")
	h = wellFormed(r, h)
	w := indexWrites(h)
	for i := range h {
		op := &h[i]
		if op.Kind == history.Delete && op.Outcome == history.Ok {
			r.Counts["deletes-acknowledged"]++
		}
	}
	for i := range h {
		rd := &h[i]
		if !rd.Kind.IsRead() || rd.Outcome != history.Ok {
			continue
		}
		r.Counts["reads"]++
		if rd.Level == history.Eventual && !rd.Final {
			r.Counts["reads-unchecked"]++
			continue
		}
		for _, k := range returnedKeys(rd) {
			if del := resurrectedBy(w, k, rd); del != nil {
				r.add(AnomalyResurrection, []int{rd.ID, del.ID},
					"%s read %d (%s) returned key %d after delete %d was acknowledged, with no later write of it",
					rd.Kind, rd.ID, rd.Level, k, del.ID)
			}
		}
	}
	return r.done()
}

// returnedKeys are the keys a read says exist.
func returnedKeys(rd *history.Op) []int64 {
	if rd.Kind == history.Get {
		if rd.Value == history.Absent {
			return nil
		}
		return []int64{rd.Key}
	}
	return rd.Keys
}

// resurrectedBy returns the latest acknowledged delete of key that read rd had
// to see and that no write of key explains away; nil if there is none.
func resurrectedBy(w *writes, key int64, rd *history.Op) *history.Op {
	var found *history.Op
	for _, del := range w.byKey[key] {
		if del.Kind != history.Delete || !mustSee(del, rd) {
			continue
		}
		excused := slices.ContainsFunc(w.byKey[key], func(wr *history.Op) bool {
			return wr.Kind != history.Delete && wr.Outcome != history.Fail &&
				wr.Call < rd.Return && !before(version{wr}, version{del})
		})
		if !excused && (found == nil || del.Return > found.Return) {
			found = del
		}
	}
	return found
}
