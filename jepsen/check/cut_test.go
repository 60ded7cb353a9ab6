package check

import (
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

// cutHistory: key 1 at version 10, key 2 at version 20, then write 3
// (key 2, version 21) completes before write 4 (key 1, version 11)
// begins; a STRONG read of both keys returns v1 and v2.
func cutHistory(v1, v2 int64) []history.Op {
	return []history.Op{
		{ID: 1, Kind: history.Upsert, Key: 1, Value: 10, Call: 1, Return: 2, Outcome: history.Ok},
		{ID: 2, Kind: history.Upsert, Key: 2, Value: 20, Call: 1, Return: 2, Outcome: history.Ok},
		{ID: 3, Process: 1, Kind: history.Upsert, Key: 2, Value: 21, Call: 5, Return: 6, Outcome: history.Ok},
		{ID: 4, Process: 2, Kind: history.Upsert, Key: 1, Value: 11, Call: 7, Return: 8, Outcome: history.Ok},
		{ID: 5, Process: 3, Kind: history.Get, Level: history.Strong, Key: 1, Value: v1, Call: 4, Return: 9, Outcome: history.Ok},
		{ID: 6, Process: 3, Kind: history.Get, Level: history.Strong, Key: 2, Value: v2, Call: 4, Return: 9, Outcome: history.Ok},
	}
}

func TestCutFailsOnATornRead(t *testing.T) {
	for _, tc := range []struct {
		v1, v2 int64
		torn   bool
	}{
		{10, 20, false}, // neither
		{10, 21, false}, // the earlier only
		{11, 21, false}, // both
		{11, 20, true},  // the later without the earlier
	} {
		r := Cut(cutHistory(tc.v1, tc.v2))
		if r.Valid == tc.torn || (tc.torn && r.Counts[AnomalyTornCut] != 1) {
			t.Errorf("read of versions %d, %d: valid %v, anomalies %v; want torn %v", tc.v1, tc.v2, r.Valid, r.Anomalies, tc.torn)
		}
	}
	// Key 2 absent: torn unless a delete of key 2 may have followed write 3.
	h := cutHistory(11, history.Absent)
	if r := Cut(h); r.Valid {
		t.Error("a read that saw write 4 and found key 2 absent after write 3 was not reported")
	}
	h = append(h, history.Op{ID: 7, Process: 4, Kind: history.Delete, Key: 2, Call: 6, Return: 10, Outcome: history.Unknown})
	if r := Cut(h); !r.Valid {
		t.Errorf("a delete that may have followed write 3 was not allowed for: %v", r.Anomalies)
	}
}
