package main

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkParseRow128(b *testing.B) {
	rs, _ := newRowSchema(testSchema())
	rs.dim = 128
	var sb bytes.Buffer
	sb.WriteString(`{"id": 1, "vector": [`)
	for i := 0; i < 128; i++ {
		if i > 0 { sb.WriteString(", ") }
		fmt.Fprintf(&sb, "%v", 0.123456789123+float64(i))
	}
	sb.WriteString(`]}`)
	line := sb.Bytes()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := parseRow(rs, line); err != nil { b.Fatal(err) }
	}
}
