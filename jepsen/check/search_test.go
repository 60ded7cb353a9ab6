package check

import (
	"slices"
	"testing"
)

func TestSearchOracle(t *testing.T) {
	runCases(t, SearchOracle, []historyCase{
		{name: "results are written and live", h: mk(
			upsert(0, 1, 10, 0, 10, ok),
			upsert(0, 2, 20, 0, 10, ok),
			upsert(0, 3, 30, 0, 10, unknown),
			search(1, strong, keys(1, 2, 3), []int64{10, 20, 30}, 20, 30),
			del(0, 2, 40, 50, ok),
			search(1, strong, keys(1), nil, 60, 70),
			search(1, eventl, keys(1, 2), nil, 60, 70),
			search(1, strong, keys(1, 2), nil, 45, 55),
		)},
		{name: "never-written key", h: mk(
			upsert(0, 1, 10, 0, 10, ok),
			search(1, eventl, keys(1, 7), nil, 20, 30),
		), kinds: []string{AnomalyPhantom}},
		{name: "only a failed write", h: mk(
			upsert(0, 1, 10, 0, 10, fail),
			search(1, eventl, keys(1), nil, 20, 30),
		), kinds: []string{AnomalyPhantom}},
		{name: "never-written version", h: mk(
			upsert(0, 1, 10, 0, 10, ok),
			search(1, strong, keys(1), []int64{11}, 20, 30),
		), kinds: []string{AnomalyPhantom}},
		{name: "deleted key in a strong search", h: mk(
			upsert(0, 1, 10, 0, 10, ok),
			del(0, 1, 20, 30, ok),
			search(1, strong, keys(1), nil, 40, 50),
		), kinds: []string{AnomalyResurrection}},
		{name: "deleted key in a final search", h: mk(
			upsert(0, 1, 10, 0, 10, ok),
			del(0, 1, 20, 30, ok),
			final(search(1, eventl, keys(1), nil, 400, 500)),
		), kinds: []string{AnomalyResurrection}},
	})
}

func l2(a, b []float32) float32 {
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func ip(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestFinalSearch(t *testing.T) {
	rows := map[int64][]float32{
		1: {0, 0},
		2: {1, 0},
		3: {2, 0},
		4: {3, 0},
		5: {0, 1}, // ties with 2 from the origin
	}
	origin := []float32{0, 0}
	q := func(k int, ids []int64, dists []float32) Query {
		return Query{ID: 7, Vector: origin, K: k, IDs: ids, Distances: dists}
	}
	for _, tc := range []struct {
		name  string
		q     Query
		kinds []string
	}{
		{"exact", q(3, keys(1, 2, 5), []float32{0, 1, 1}), nil},
		{"tie broken the other way", q(2, keys(1, 5), []float32{0, 1}), nil},
		{"without distances", q(2, keys(1, 2), nil), nil},
		{"k beyond the rows", q(10, keys(1, 2, 5, 3, 4), nil), nil},
		{"rounding within tolerance", q(2, keys(1, 2), []float32{0, 1.00001}), nil},
		{"too few", q(3, keys(1, 2), nil), []string{AnomalyWrongLength}},
		{"distances misaligned", q(2, keys(1, 2), []float32{0}), []string{AnomalyWrongLength}},
		{"key not in the final state", q(2, keys(1, 9), nil), []string{AnomalyWrongID}},
		{"reported distance wrong", q(2, keys(1, 2), []float32{0, 7}), []string{AnomalyWrongID}},
		{"duplicate", q(2, keys(1, 1), nil), []string{AnomalyDuplicateID, AnomalyDistanceMismatch}},
		{"farther key at the boundary", q(2, keys(1, 3), nil), []string{AnomalyDistanceMismatch}},
		{"closest key missing", q(2, keys(2, 5), nil), []string{AnomalyDistanceMismatch, AnomalyMissedID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := FinalSearch(rows, []Query{tc.q}, l2, FinalSearchOptions{})
			expect(t, res, tc.kinds...)
			for _, a := range res.Anomalies {
				if !slices.Equal(a.Ops, []int{7}) {
					t.Fatalf("anomaly does not name query 7: %+v", a)
				}
			}
		})
	}

	t.Run("larger is closer", func(t *testing.T) {
		x := []float32{1, 0}
		good := Query{Vector: x, K: 2, IDs: keys(4, 3), Distances: []float32{3, 2}}
		bad := Query{Vector: x, K: 2, IDs: keys(1, 5), Distances: []float32{0, 0}}
		expect(t, FinalSearch(rows, []Query{good}, ip, FinalSearchOptions{LargerIsCloser: true}))
		expect(t, FinalSearch(rows, []Query{bad}, ip, FinalSearchOptions{LargerIsCloser: true}),
			AnomalyDistanceMismatch, AnomalyMissedID)
	})
}
