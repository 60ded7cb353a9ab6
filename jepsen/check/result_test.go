package check

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/raftvec/raftvec/jepsen/history"
)

func TestMalformedOpsAreAnomalies(t *testing.T) {
	h := []history.Op{
		insert(0, 1, 0, 10, ok),
		insert(0, 2, 0, 10, ok), // same ID 0 as the first
		{ID: 1, Kind: "scan", Outcome: ok},
		final(readAll(1, strong, keys(1), 20, 30)),
	}
	h[3].ID = 2
	res := Set(h)
	expect(t, res, AnomalyMalformed)
	if res.Counts[AnomalyMalformed] != 2 {
		t.Fatalf("malformed = %d, want 2: %+v", res.Counts[AnomalyMalformed], res.Anomalies)
	}
}

func TestAnomaliesAreOrdered(t *testing.T) {
	h := mk(
		insert(0, 1, 0, 10, ok),
		insert(0, 2, 0, 10, ok),
		readAll(1, strong, keys(9), 20, 30),
		readAll(1, strong, nil, 40, 50),
		final(readAll(1, strong, nil, 200, 210)),
	)
	a, b := Set(h), Set(h)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs over one history differ")
	}
	for i := 1; i < len(a.Anomalies); i++ {
		p, q := a.Anomalies[i-1], a.Anomalies[i]
		if p.Kind > q.Kind || p.Kind == q.Kind && firstOp(p) > firstOp(q) {
			t.Fatalf("anomalies out of order: %+v", a.Anomalies)
		}
	}
}

func TestAllValidAndJSON(t *testing.T) {
	good, bad := Result{Name: "a", Valid: true}, Result{Name: "b"}
	if !AllValid([]Result{good}) || AllValid([]Result{good, bad}) || !AllValid(nil) {
		t.Fatal("AllValid")
	}
	res := Set(mk(insert(0, 1, 0, 10, ok), final(readAll(1, strong, nil, 20, 30))))
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, res) {
		t.Fatalf("JSON round trip: %v\n%s", err, b)
	}
}
