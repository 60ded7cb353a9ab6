package check

import (
	"slices"
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

func TestNoResurrection(t *testing.T) {
	base := func(more ...history.Op) []history.Op {
		return mk(append([]history.Op{
			insert(0, 1, 0, 10, ok),
			del(0, 1, 20, 30, ok),
		}, more...)...)
	}
	runCases(t, NoResurrection, []historyCase{
		{name: "deleted stays deleted", h: base(
			get(1, strong, 1, absent, 40, 50),
			final(readAll(1, strong, nil, 200, 210)),
		)},
		{name: "read concurrent with the delete", h: base(
			get(1, strong, 1, 1, 25, 35),
		)},
		{name: "bounded read within its staleness", h: base(
			bounded(1, 100, 1, 1, 60, 70),
		)},
		{name: "eventual read is unchecked", h: base(
			readAll(1, eventl, keys(1), 100, 110),
		)},
		{name: "session read of another session", h: base(
			get(1, session, 1, 1, 100, 110),
		)},
		{name: "re-inserted with unknown outcome", h: base(
			insert(2, 1, 70, 80, unknown),
			get(1, strong, 1, 1, 100, 110),
		)},
		{name: "insert concurrent with the delete", h: mk(
			insert(0, 1, 0, 10, ok),
			insert(2, 1, 15, 35, ok),
			del(0, 1, 20, 30, ok),
			get(1, strong, 1, 1, 100, 110),
		)},
		{name: "insert ordered after the delete by ts", h: mk(
			insert(0, 1, 0, 10, ok),
			withTs(insert(2, 1, 15, 35, ok), 15),
			withTs(del(0, 1, 20, 30, ok), 10),
			get(1, strong, 1, 1, 100, 110),
		)},
		{name: "strong get", h: base(
			get(1, strong, 1, 1, 40, 50),
		), kinds: []string{AnomalyResurrection}},
		{name: "strong probe", h: base(
			probe(1, 1, 1, 1, 40, 50),
		), kinds: []string{AnomalyResurrection}},
		{name: "strong search", h: base(
			search(1, strong, keys(1), nil, 40, 50),
		), kinds: []string{AnomalyResurrection}},
		{name: "final eventual read", h: base(
			final(readAll(1, eventl, keys(1), 200, 210)),
		), kinds: []string{AnomalyResurrection}},
		{name: "bounded read past its staleness", h: base(
			bounded(1, 5, 1, 1, 100, 110),
		), kinds: []string{AnomalyResurrection}},
		{name: "own session", h: base(
			get(0, session, 1, 1, 100, 110),
		), kinds: []string{AnomalyResurrection}},
		{name: "failed re-insert does not excuse", h: base(
			insert(2, 1, 35, 36, fail),
			get(1, strong, 1, 1, 100, 110),
		), kinds: []string{AnomalyResurrection}},
		{name: "re-insert after the read does not excuse", h: base(
			get(1, strong, 1, 1, 100, 110),
			insert(2, 1, 200, 210, ok),
		), kinds: []string{AnomalyResurrection}},
		{name: "insert ordered before the delete by ts", h: mk(
			insert(0, 1, 0, 10, ok),
			withTs(insert(2, 1, 15, 35, ok), 5),
			withTs(del(0, 1, 20, 30, ok), 10),
			get(1, strong, 1, 1, 100, 110),
		), kinds: []string{AnomalyResurrection}},
	})
}

func TestNoResurrectionNamesReadAndDelete(t *testing.T) {
	h := mk(
		insert(0, 1, 0, 10, ok),
		del(0, 1, 20, 30, ok),
		insert(0, 1, 40, 50, ok),
		del(0, 1, 60, 70, ok), // id 3: the delete the read missed
		get(1, strong, 1, 1, 100, 110),
	)
	res := NoResurrection(h)
	expect(t, res, AnomalyResurrection)
	if got := anomalyOps(res, AnomalyResurrection); len(got) != 1 || !slices.Equal(got[0], []int{4, 3}) {
		t.Fatalf("ops = %v, want [[4 3]]", got)
	}
	if res.Counts["deletes-acknowledged"] != 2 {
		t.Fatalf("counts = %v", res.Counts)
	}
}
