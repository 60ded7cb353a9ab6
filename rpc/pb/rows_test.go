package pb

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestRowsPick(t *testing.T) {
	r := &Rows{
		IntIds:  []int64{10, 11, 12},
		Vectors: []float32{0, 0.5, 1, 1.5, 2, 2.5},
		Fields:  []*FieldColumn{{Name: "price", Values: []*Value{{Kind: &Value_Int64{Int64: 100}}, {Kind: &Value_Int64{Int64: 101}}, {Kind: &Value_Int64{Int64: 102}}}}},
	}
	got := r.Pick([]int{2, 0})
	want := &Rows{
		IntIds:  []int64{12, 10},
		Vectors: []float32{2, 2.5, 0, 0.5},
		Fields:  []*FieldColumn{{Name: "price", Values: []*Value{{Kind: &Value_Int64{Int64: 102}}, {Kind: &Value_Int64{Int64: 100}}}}},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("Pick([2 0]) = %v, want %v", got, want)
	}
	if got := (&Rows{}).Pick(nil); len(got.IntIds)+len(got.StrIds)+len(got.Vectors) != 0 {
		t.Fatalf("Pick of an empty batch = %v", got)
	}
}
