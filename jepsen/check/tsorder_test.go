package check

import (
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

func TestTsOrderFailsOnAReversedPair(t *testing.T) {
	h := []history.Op{
		{ID: 1, Kind: history.Upsert, Key: 1, Value: 1, Ts: 100, Call: 1, Return: 3, Outcome: history.Ok},
		{ID: 2, Kind: history.Upsert, Key: 2, Value: 2, Ts: 90, Call: 2, Return: 5, Outcome: history.Ok}, // concurrent with 1
		{ID: 3, Kind: history.Delete, Key: 1, Ts: 110, Call: 6, Return: 7, Outcome: history.Ok},
		{ID: 4, Kind: history.Upsert, Key: 2, Value: 4, Ts: 0, Call: 8, Return: 9, Outcome: history.Unknown},
	}
	if r := TsOrder(h); !r.Valid {
		t.Fatalf("ordered writes reported: %v", r.Anomalies)
	}
	h = append(h, history.Op{ID: 5, Kind: history.Upsert, Key: 2, Value: 5, Ts: 105, Call: 8, Return: 9, Outcome: history.Ok})
	r := TsOrder(h)
	if r.Valid || r.Counts[AnomalyTsReversed] != 1 {
		t.Fatalf("write 5, sent after write 3 (ts 110) was acknowledged, got ts 105 and was not reported: %+v", r)
	}
}
