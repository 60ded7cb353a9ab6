package benchutil

import (
	"slices"
	"testing"
)

func TestServedBetween(t *testing.T) {
	before := []map[string]float64{{"a": 10, "b": 5}, {"a": 7}}
	after := []map[string]float64{{"a": 15, "b": 5, "c": 2}, {"a": 3}} // node 2's series restarted from zero
	if got := ServedBetween(before, after); !slices.Equal(got, []float64{7, 3}) {
		t.Fatalf("ServedBetween = %v, want [7 3]", got)
	}
	if got := Shares([]float64{1, 1, 2}); got != "25% / 25% / 50%" {
		t.Fatalf("Shares = %q", got)
	}
}
