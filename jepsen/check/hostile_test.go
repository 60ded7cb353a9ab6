package check

import (
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

func TestHostileFailsWhenAServerServesAFutureTs(t *testing.T) {
	refused := []history.Op{
		{ID: 0, Kind: history.ReadAll, Level: history.Strong, Hostile: true, Call: 1, Return: 2, Outcome: history.Fail},
		{ID: 1, Kind: history.Insert, Key: 5, Value: 5, Hostile: true, Call: 3, Return: 4, Outcome: history.Unknown},
	}
	if r := Hostile(refused); !r.Valid {
		t.Fatalf("refused hostile requests reported: %v", r.Anomalies)
	}
	served := append(refused, history.Op{ID: 2, Kind: history.Get, Key: 1, Level: history.Session, Hostile: true, Call: 5, Return: 6, Outcome: history.Ok})
	r := Hostile(served)
	if r.Valid || r.Counts[AnomalyHostileAccepted] != 1 {
		t.Fatalf("a served hostile request not reported: %+v", r)
	}
}
