package fsm

import (
	"math"
	"strings"
	"testing"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// Rows from a backup keep what was stored: auto_id keys and normalised
// COSINE vectors bit for bit; anything else is validated as usual.
func TestBuildRowsFromBackup(t *testing.T) {
	sc, err := NewSchema(&fsmpb.Schema{Name: "c", AutoIdStart: 500, Fields: []*fsmpb.Field{
		{Name: "id", Type: fsmpb.FieldType_INT64, PrimaryKey: true, AutoId: true},
		{Name: "v", Type: fsmpb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: fsmpb.Metric_COSINE},
	}})
	if err != nil {
		t.Fatal(err)
	}
	unit := []float32{0.6, 0.8000001} // a unit vector as a replica stored it
	if _, err := sc.BuildRows(RowsInput{IntPKs: []int64{7}, Vectors: unit}, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "auto_id") {
		t.Fatalf("ids on an auto_id key outside a restore: %v, want a refusal", err)
	}
	rows, err := sc.BuildRows(RowsInput{IntPKs: []int64{7}, Vectors: unit, FromBackup: true}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if rows.IntPks[0] != 7 || math.Float32bits(rows.Vectors[1]) != math.Float32bits(unit[1]) {
		t.Fatalf("restored row: ids %v vector %v, want id 7 and %v bit for bit", rows.IntPks, rows.Vectors, unit)
	}
	if _, err := sc.BuildRows(RowsInput{IntPKs: []int64{8}, Vectors: []float32{3, 4}, FromBackup: true}, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "unit vectors") {
		t.Fatalf("a non-unit COSINE vector in a restore: %v, want a refusal", err)
	}
	fresh, err := sc.BuildRows(RowsInput{Vectors: []float32{3, 4}}, DefaultLimits())
	if err != nil || fresh.Vectors[0] != 0.6 {
		t.Fatalf("an ordinary insert: %v, %v; want the vector normalised", fresh, err)
	}
	for _, bad := range []int64{-1, MaxAutoIDStart + 1} {
		if _, err := NewSchema(&fsmpb.Schema{Name: "c", AutoIdStart: bad, Fields: sc.pb.Fields}); err == nil || !strings.Contains(err.Error(), "auto_id_start") {
			t.Fatalf("auto_id_start %d: %v, want a refusal naming it", bad, err)
		}
	}
}
