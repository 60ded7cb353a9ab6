package check

import (
	"slices"
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

func keys(ks ...int64) []int64 { return ks }

func TestSet(t *testing.T) {
	runCases(t, Set, []historyCase{
		{name: "all present, unknown either way", h: mk(
			insert(0, 1, 0, 10, ok),
			insert(1, 2, 5, 15, ok),
			insert(2, 3, 20, 30, unknown),
			insert(3, 4, 20, 30, unknown),
			insert(4, 5, 20, 30, fail),
			readAll(5, strong, keys(1, 2), 40, 50),
			final(readAll(5, strong, keys(1, 2, 4), 1000, 1010)),
		)},
		{name: "read concurrent with insert may miss it", h: mk(
			insert(0, 1, 0, 100, ok),
			readAll(1, strong, nil, 20, 30),
			readAll(1, strong, keys(1), 40, 50),
			final(readAll(1, strong, keys(1), 200, 210)),
		)},
		{name: "weak reads may be stale", h: mk(
			insert(0, 1, 0, 10, ok),
			readAll(1, eventl, nil, 20, 30),
			readAll(1, session, nil, 20, 30),
			final(readAll(1, eventl, keys(1), 200, 210)),
		)},
		{name: "keys with deletes are left out", h: mk(
			insert(0, 1, 0, 10, ok),
			del(0, 1, 20, 30, ok),
			final(readAll(1, strong, nil, 200, 210)),
		)},
		{name: "lost acknowledged insert", h: mk(
			insert(0, 1, 0, 10, ok),
			insert(0, 2, 0, 10, ok),
			final(readAll(1, strong, keys(2), 200, 210)),
		), kinds: []string{AnomalyLost}},
		{name: "lost insert that a strong read saw", h: mk(
			insert(0, 1, 0, 10, unknown),
			readAll(1, strong, keys(1), 20, 30),
			final(readAll(1, strong, nil, 200, 210)),
		), kinds: []string{AnomalyLost}},
		{name: "lost from one of several final reads", h: mk(
			insert(0, 1, 0, 10, ok),
			final(readAll(1, strong, keys(1), 200, 210)),
			final(readAll(2, eventl, nil, 200, 210)),
		), kinds: []string{AnomalyLost}},
		{name: "never attempted", h: mk(
			insert(0, 1, 0, 10, ok),
			readAll(1, eventl, keys(1, 9), 20, 30),
			final(readAll(1, strong, keys(1), 200, 210)),
		), kinds: []string{AnomalyUnexpected}},
		{name: "insert invoked after the read returned", h: mk(
			insert(0, 1, 0, 10, ok),
			readAll(1, strong, keys(1, 2), 20, 30),
			insert(0, 2, 40, 50, ok),
			final(readAll(1, strong, keys(1, 2), 200, 210)),
		), kinds: []string{AnomalyUnexpected}},
		{name: "failed insert visible", h: mk(
			insert(0, 1, 0, 10, fail),
			final(readAll(1, strong, keys(1), 200, 210)),
		), kinds: []string{AnomalyFailedVisible}},
		{name: "stale strong read", h: mk(
			insert(0, 1, 0, 10, ok),
			readAll(1, strong, nil, 20, 30),
			final(readAll(1, strong, keys(1), 200, 210)),
		), kinds: []string{AnomalyStaleRead}},
		{name: "strong read loses what a strong read saw", h: mk(
			insert(0, 1, 0, 10, unknown),
			readAll(1, strong, keys(1), 20, 30),
			readAll(2, strong, nil, 40, 50),
			final(readAll(1, strong, keys(1), 200, 210)),
		), kinds: []string{AnomalyNonMonotonic}},
		{name: "no final read", h: mk(
			insert(0, 1, 0, 10, ok),
			readAll(1, strong, keys(1), 20, 30),
		), kinds: []string{AnomalyNoFinalRead}},
		{name: "failed final read is no final read", h: mk(
			insert(0, 1, 0, 10, ok),
			func() history.Op { o := final(readAll(1, strong, nil, 200, 210)); o.Outcome = unknown; return o }(),
		), kinds: []string{AnomalyNoFinalRead}},
	})
}

func TestSetCountsAndOps(t *testing.T) {
	h := mk(
		insert(0, 1, 0, 10, ok),
		insert(0, 2, 0, 10, unknown),
		insert(0, 3, 0, 10, unknown),
		insert(0, 4, 0, 10, fail),
		final(readAll(1, strong, keys(2), 200, 210)), // id 4: loses 1
	)
	res := Set(h)
	expect(t, res, AnomalyLost)
	if got := anomalyOps(res, AnomalyLost); len(got) != 1 || !slices.Equal(got[0], []int{0, 4}) {
		t.Fatalf("lost ops = %v, want [[0 4]]", got)
	}
	for k, want := range map[string]int{"inserts": 4, "inserts-ok": 1, "inserts-unknown": 2, "inserts-fail": 1,
		"final-reads": 1, "unknown-present": 1, "unknown-absent": 1, AnomalyLost: 1} {
		if res.Counts[k] != want {
			t.Errorf("Counts[%s] = %d, want %d (%v)", k, res.Counts[k], want, res.Counts)
		}
	}
}
