package check

import (
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// Session checks the session guarantees per process (one process is one
// session), across whichever nodes served it:
//
//   - read-your-writes: a SESSION or STRONG point read (Get, or a Probe that
//     found its key with a version) of a key the session wrote, acknowledged
//     before the read began, returns that write or a version definitely
//     after it;
//   - monotonic-reads: such a read never returns a version definitely before
//     one an earlier read of the session returned;
//   - phantom: it never returns a version no write invoked before it
//     returned produced (or only writes that failed definitely).
//
// A read of "absent" is explained by the initial state or any delete that did
// not fail; it is stale only if all of those are definitely before the write
// or version it had to see. BOUNDED and EVENTUAL reads are counted as
// "reads-unchecked" and do not advance the session.
func Session(h []history.Op) Result {
	r := newResult("session")
	h = wellFormed(r, h)
	w := indexWrites(h)

	type floor struct {
		vs     []version
		fromID int
		ret    int64 // the floor binds reads invoked after this
		write  bool
	}
	bySession := map[int][]*history.Op{}
	for i := range h {
		bySession[h[i].Process] = append(bySession[h[i].Process], &h[i])
	}
	sessions := make([]int, 0, len(bySession))
	for p := range bySession {
		sessions = append(sessions, p)
	}
	slices.Sort(sessions)
	r.Counts["sessions"] = len(sessions)

	for _, p := range sessions {
		ops := bySession[p]
		slices.SortFunc(ops, func(a, b *history.Op) int { return byCall(*a, *b) })
		floors := map[int64][]floor{}
		for _, op := range ops {
			if op.Outcome != history.Ok {
				continue
			}
			if op.Kind.IsWrite() {
				r.Counts["writes"]++
				floors[op.Key] = append(floors[op.Key], floor{vs: []version{{op}}, fromID: op.ID, ret: op.Return, write: true})
				continue
			}
			obs, ok := observe(op)
			if !ok {
				continue
			}
			if op.Level != history.Session && op.Level != history.Strong {
				r.Counts["reads-unchecked"]++
				continue
			}
			r.Counts["reads"]++
			vs, failedOnly := w.explain(obs.key, obs.value, op.Return)
			if len(vs) == 0 {
				why := "no write invoked before it returned produced it"
				if failedOnly {
					why = "its only writes failed definitely"
				}
				r.add(AnomalyPhantom, []int{op.ID}, "session %d: read %d of key %d returned version %s: %s",
					p, op.ID, obs.key, versionString(obs.value), why)
				continue
			}
			for _, f := range floors[obs.key] {
				if f.ret >= op.Call || !allBefore(vs, f.vs) {
					continue
				}
				if f.write {
					r.add(AnomalyReadYourWrites, append([]int{op.ID, f.fromID}, opIDs(vs)...),
						"session %d: read %d of key %d returned version %s, older than the session's own write %d",
						p, op.ID, obs.key, versionString(obs.value), f.fromID)
				} else {
					r.add(AnomalyMonotonicReads, append([]int{op.ID, f.fromID}, opIDs(vs)...),
						"session %d: read %d of key %d returned version %s, older than what the session's read %d returned",
						p, op.ID, obs.key, versionString(obs.value), f.fromID)
				}
				break
			}
			floors[obs.key] = append(floors[obs.key], floor{vs: vs, fromID: op.ID, ret: op.Return})
		}
	}
	return r.done()
}
