package check

import (
	"slices"
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

func on(o history.Op, node string) history.Op { o.Node = node; return o }

func TestSession(t *testing.T) {
	runCases(t, Session, []historyCase{
		{name: "own writes and newer versions, across nodes", h: mk(
			on(upsert(1, 1, 1, 0, 10, ok), "n1"),
			on(get(1, session, 1, 1, 20, 30), "n2"),
			upsert(2, 1, 2, 40, 50, ok),
			on(get(1, session, 1, 2, 60, 70), "n3"),
			on(get(1, strong, 1, 2, 80, 90), "n1"),
			on(get(1, session, 1, 2, 100, 110), "n2"),
		)},
		{name: "other sessions may lag", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			get(2, session, 1, absent, 20, 30),
		)},
		{name: "unknown own write may not have happened", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			upsert(1, 1, 2, 20, 30, unknown),
			get(1, session, 1, 1, 40, 50),
			get(1, session, 1, 2, 60, 70),
		)},
		{name: "absent explained by a concurrent delete", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			del(2, 1, 5, 60, ok),
			get(1, session, 1, absent, 20, 30),
		)},
		{name: "absent explained by an unknown delete", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			del(2, 1, 15, 16, unknown),
			get(1, session, 1, absent, 20, 30),
			get(1, session, 1, absent, 40, 50),
		)},
		{name: "own delete then a newer write", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			del(1, 1, 20, 30, ok),
			get(1, session, 1, absent, 40, 50),
			upsert(2, 1, 2, 60, 70, ok),
			get(1, session, 1, 2, 80, 90),
		)},
		{name: "concurrent writes are unordered without ts", h: mk(
			upsert(2, 1, 1, 0, 100, ok),
			upsert(3, 1, 2, 0, 100, ok),
			get(1, session, 1, 2, 200, 210),
			get(1, session, 1, 1, 220, 230),
		)},
		{name: "bounded and eventual reads are not session reads", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			upsert(1, 1, 2, 20, 30, ok),
			get(1, eventl, 1, 1, 40, 50),
			bounded(1, 1000, 1, 1, 60, 70),
		)},
		{name: "misses own write", h: mk(
			upsert(2, 1, 1, 0, 10, ok),
			upsert(1, 1, 2, 20, 30, ok),
			get(1, session, 1, 1, 40, 50),
		), kinds: []string{AnomalyReadYourWrites}},
		{name: "misses own insert entirely", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			get(1, session, 1, absent, 40, 50),
		), kinds: []string{AnomalyReadYourWrites}},
		{name: "misses own delete", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			del(1, 1, 20, 30, ok),
			get(1, session, 1, 1, 40, 50),
		), kinds: []string{AnomalyReadYourWrites}},
		{name: "strong read misses own write", h: mk(
			upsert(2, 1, 1, 0, 10, ok),
			upsert(1, 1, 2, 20, 30, ok),
			get(1, strong, 1, 1, 40, 50),
		), kinds: []string{AnomalyReadYourWrites}},
		{name: "goes back in time", h: mk(
			upsert(2, 1, 1, 0, 10, ok),
			upsert(2, 1, 2, 20, 30, ok),
			on(get(1, session, 1, 2, 40, 50), "n1"),
			on(get(1, session, 1, 1, 60, 70), "n2"),
		), kinds: []string{AnomalyMonotonicReads}},
		{name: "goes back to absent", h: mk(
			upsert(2, 1, 1, 0, 10, ok),
			get(1, session, 1, 1, 40, 50),
			get(1, session, 1, absent, 60, 70),
		), kinds: []string{AnomalyMonotonicReads}},
		{name: "goes back by ts", h: mk(
			withTs(upsert(2, 1, 1, 0, 100, ok), 10),
			withTs(upsert(3, 1, 2, 0, 100, ok), 20),
			get(1, session, 1, 2, 200, 210),
			get(1, session, 1, 1, 220, 230),
		), kinds: []string{AnomalyMonotonicReads}},
		{name: "never-written version", h: mk(
			upsert(1, 1, 1, 0, 10, ok),
			get(1, session, 1, 77, 20, 30),
		), kinds: []string{AnomalyPhantom}},
		{name: "failed write visible", h: mk(
			upsert(1, 1, 1, 0, 10, fail),
			get(1, session, 1, 1, 20, 30),
		), kinds: []string{AnomalyPhantom}},
	})
}

func TestSessionNamesOps(t *testing.T) {
	res := Session(mk(
		upsert(2, 1, 1, 0, 10, ok),
		upsert(1, 1, 2, 20, 30, ok),
		get(1, session, 1, 1, 40, 50),
	))
	if got := anomalyOps(res, AnomalyReadYourWrites); len(got) != 1 || !slices.Equal(got[0], []int{2, 1, 0}) {
		t.Fatalf("ops = %v, want [[2 1 0]] (read, own write, the write it saw)", got)
	}
}

func TestBounded(t *testing.T) {
	runCases(t, Bounded, []historyCase{
		{name: "within staleness", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 100, 110, ok),
			bounded(1, 50, 1, 1, 130, 140),
			bounded(1, 10, 1, 2, 200, 210),
			bounded(2, 0, 1, 2, 300, 310),
		)},
		{name: "unknown write does not bind", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, unknown),
			bounded(1, 0, 1, 1, 1000, 1010),
		)},
		{name: "absent after a delete", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			del(0, 1, 20, 30, ok),
			bounded(1, 0, 1, absent, 1000, 1010),
		)},
		{name: "older version than allowed", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 100, 110, ok),
			bounded(1, 10, 1, 1, 200, 210),
		), kinds: []string{AnomalyStaleBounded}},
		{name: "absent long after the insert", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			bounded(1, 10, 1, absent, 200, 210),
		), kinds: []string{AnomalyStaleBounded}},
		{name: "deleted version long after the delete", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			del(0, 1, 20, 30, ok),
			bounded(1, 10, 1, 1, 200, 210),
		), kinds: []string{AnomalyStaleBounded}},
		{name: "older by ts", h: mk(
			withTs(upsert(2, 1, 1, 0, 100, ok), 10),
			withTs(upsert(3, 1, 2, 0, 100, ok), 20),
			bounded(1, 10, 1, 1, 500, 510),
		), kinds: []string{AnomalyStaleBounded}},
		{name: "never-written version", h: mk(
			bounded(1, 10, 1, 5, 200, 210),
		), kinds: []string{AnomalyPhantom}},
	})
}

func TestBoundedNamesNewestWrite(t *testing.T) {
	res := Bounded(mk(
		upsert(0, 1, 1, 0, 10, ok),
		upsert(0, 1, 2, 20, 30, ok),
		upsert(0, 1, 3, 40, 50, ok),
		bounded(1, 10, 1, 1, 200, 210),
	))
	if got := anomalyOps(res, AnomalyStaleBounded); len(got) != 1 || !slices.Equal(got[0], []int{3, 2, 0}) {
		t.Fatalf("ops = %v, want [[3 2 0]] (read, newest binding write, version read)", got)
	}
}
