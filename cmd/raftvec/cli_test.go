package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// testSchema is an int64 key, a 4-d L2 vector and one field of each
// scalar type.
func testSchema() *pb.CollectionSchema {
	return &pb.CollectionSchema{Name: "c", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 4, Metric: pb.Metric_L2},
		{Name: "ok", Type: pb.FieldType_BOOL},
		{Name: "n", Type: pb.FieldType_INT64},
		{Name: "price", Type: pb.FieldType_DOUBLE, Nullable: true},
		{Name: "name", Type: pb.FieldType_VARCHAR, MaxLength: 5},
		{Name: "meta", Type: pb.FieldType_JSON},
	}}
}

func varcharSchema(metric pb.Metric) *pb.CollectionSchema {
	return &pb.CollectionSchema{Name: "s", Fields: []*pb.FieldSchema{
		{Name: "pk", Type: pb.FieldType_VARCHAR, PrimaryKey: true, MaxLength: 8},
		{Name: "emb", Type: pb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: metric},
	}}
}

func autoIDSchema() *pb.CollectionSchema {
	return &pb.CollectionSchema{Name: "a", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true, AutoId: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: pb.Metric_IP},
	}}
}

func mustRowSchema(t *testing.T, s *pb.CollectionSchema) *rowSchema {
	t.Helper()
	rs, err := newRowSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// readAll reads a JSONL text the way a validating first pass does.
func readAll(rs *rowSchema, text string, maxRows int) ([]*rowBatch, error) {
	jr := newJSONLReader(rs, strings.NewReader(text), "rows.jsonl", true)
	var out []*rowBatch
	for {
		b, err := jr.next(maxRows, maxBatchInput)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

func i64(v int64) *pb.Value    { return &pb.Value{Kind: &pb.Value_Int64{Int64: v}} }
func dbl(v float64) *pb.Value  { return &pb.Value{Kind: &pb.Value_Double{Double: v}} }
func boolv(v bool) *pb.Value   { return &pb.Value{Kind: &pb.Value_Bool{Bool: v}} }
func str(v string) *pb.Value   { return &pb.Value{Kind: &pb.Value_Varchar{Varchar: v}} }
func jsonv(v string) *pb.Value { return &pb.Value{Kind: &pb.Value_Json{Json: []byte(v)}} }

func TestJSONLGoodFile(t *testing.T) {
	rs := mustRowSchema(t, testSchema())
	text := `{"id": 1, "vector": [0.5, 1, -2, 3e-2], "ok": true, "n": -7, "price": 9.5, "name": "héé", "meta": {"a": [1, 2]}}` + "\r\n" +
		"\n" +
		`{"vector": [0,0,0,0], "id": 2, "price": null}` + "\n" +
		`  {"id": 9223372036854775807, "vector": [1,2,3,4], "meta": "x", "ok": false}  ` // no final newline
	batches, err := readAll(rs, text, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("got %d batches, want 1", len(batches))
	}
	b := batches[0]
	null := &pb.Value{}
	want := &pb.Rows{
		IntIds:  []int64{1, 2, math.MaxInt64},
		Vectors: []float32{0.5, 1, -2, 0.03, 0, 0, 0, 0, 1, 2, 3, 4},
		Fields: []*pb.FieldColumn{
			{Name: "ok", Values: []*pb.Value{boolv(true), null, boolv(false)}},
			{Name: "n", Values: []*pb.Value{i64(-7), null, null}},
			{Name: "price", Values: []*pb.Value{dbl(9.5), null, null}},
			{Name: "name", Values: []*pb.Value{str("héé"), null, null}},
			{Name: "meta", Values: []*pb.Value{jsonv(`{"a":[1,2]}`), null, jsonv(`"x"`)}},
		},
	}
	if !proto.Equal(b.rows, want) {
		t.Errorf("rows:\n got %v\nwant %v", b.rows, want)
	}
	if got, want := b.lines, []int{1, 3, 4}; !equalInts(got, want) {
		t.Errorf("lines = %v, want %v", got, want)
	}
	if b.lineRange() != "lines 1-4" {
		t.Errorf("lineRange = %q", b.lineRange())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJSONLBatches(t *testing.T) {
	rs := mustRowSchema(t, autoIDSchema())
	var sb strings.Builder
	for range 5 {
		sb.WriteString(`{"vector": [1, 2]}` + "\n")
	}
	batches, err := readAll(rs, sb.String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range batches {
		sizes = append(sizes, b.len())
		if len(b.rows.IntIds) != 0 || len(b.rows.StrIds) != 0 {
			t.Errorf("auto_id batch carries ids: %v", b.rows)
		}
	}
	if !equalInts(sizes, []int{2, 2, 1}) {
		t.Errorf("batch sizes = %v, want [2 2 1]", sizes)
	}
	if got := batches[2].lines; !equalInts(got, []int{5}) {
		t.Errorf("last batch lines = %v, want [5]", got)
	}
}

func TestJSONLErrors(t *testing.T) {
	good := `{"id": 1, "vector": [1, 2, 3, 4]}` + "\n"
	tests := []struct {
		name   string
		schema *pb.CollectionSchema
		text   string
		want   string // the whole error text
	}{
		{"wrong dim", testSchema(), good + `{"id": 2, "vector": [1, 2, 3]}`,
			`rows.jsonl:2: field "vector": want 4 numbers, got 3`},
		{"malformed line", testSchema(), good + good[:10] + "\n" + good,
			`rows.jsonl:2: invalid JSON: the line ends before the object is closed`},
		{"bad character", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4],, }`,
			`rows.jsonl:1: invalid JSON at column 34: invalid character ',' looking for beginning of object key string`},
		{"bad value", testSchema(), `{"id": x, "vector": [1, 2, 3, 4]}`,
			`rows.jsonl:1: invalid JSON at column 8: invalid character 'x' looking for beginning of value`},
		{"bad array", testSchema(), `{"id": 1, "vector": [1, 2 3, 4]}`,
			`rows.jsonl:1: invalid JSON at column 27: invalid character '3' after array element`},
		{"not an object", testSchema(), `[1, 2]`,
			`rows.jsonl:1: want a JSON object {"field": value, ...}, got an array`},
		{"two objects", testSchema(), strings.TrimSpace(good) + " " + good,
			`rows.jsonl:1: invalid JSON: more than one value on the line (want one object per line)`},
		{"missing pk", testSchema(), good + `{"vector": [1, 2, 3, 4]}`,
			`rows.jsonl:2: field "id": missing; every row needs its primary key`},
		{"missing vector", testSchema(), `{"id": 1}`,
			`rows.jsonl:1: field "vector": missing; every row needs a vector of 4 numbers`},
		{"duplicate pk", testSchema(), good + "\n" + good,
			`rows.jsonl:3: field "id": primary key 1 is also on line 1`},
		{"key twice", testSchema(), `{"id": 1, "id": 2, "vector": [1, 2, 3, 4]}`,
			`rows.jsonl:1: field "id": given twice`},
		{"unknown field", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "colour": "red"}`,
			`rows.jsonl:1: field "colour": not in the schema of collection "c" (fields: id, vector, ok, n, price, name, meta)`},
		{"pk as string", testSchema(), `{"id": "1", "vector": [1, 2, 3, 4]}`,
			`rows.jsonl:1: field "id": want an integer, got a string`},
		{"pk out of range", testSchema(), `{"id": 9223372036854775808, "vector": [1, 2, 3, 4]}`,
			`rows.jsonl:1: field "id": 9223372036854775808 is out of the int64 range`},
		{"vector not array", testSchema(), `{"id": 1, "vector": "1,2,3,4"}`,
			`rows.jsonl:1: field "vector": want an array of 4 numbers, got a string`},
		{"vector null element", testSchema(), `{"id": 1, "vector": [1, null, 3, 4]}`,
			`rows.jsonl:1: field "vector": element 1: want a number, got null`},
		{"vector bool element", testSchema(), `{"id": 1, "vector": [1, true, 3, 4]}`,
			`rows.jsonl:1: field "vector": element 1: want a number, got true`},
		{"vector string element", testSchema(), `{"id": 1, "vector": [1, 2, "3,4", 4]}`,
			`rows.jsonl:1: field "vector": element 2: want a number, got a string`},
		{"vector nested", testSchema(), `{"id": 1, "vector": [[1, 2], 3, 4]}`,
			`rows.jsonl:1: field "vector": element 0: want a number, got an array`},
		{"vector too long", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4, 5]}`,
			`rows.jsonl:1: field "vector": want 4 numbers, got 5`},
		{"vector empty", testSchema(), `{"id": 1, "vector": [ ]}`,
			`rows.jsonl:1: field "vector": want 4 numbers, got 0`},
		{"vector float32 overflow", testSchema(), `{"id": 1, "vector": [1, 2, 1e39, 4]}`,
			`rows.jsonl:1: field "vector": element 2: 1e39 is out of the float32 range`},
		{"bool wrong type", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "ok": "yes"}`,
			`rows.jsonl:1: field "ok": want true or false, got a string`},
		{"int64 fraction", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "n": 1.5}`,
			`rows.jsonl:1: field "n": want an integer, got 1.5`},
		{"double wrong type", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "price": "9.5"}`,
			`rows.jsonl:1: field "price": want a number, got a string`},
		{"double overflow", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "price": 1e400}`,
			`rows.jsonl:1: field "price": 1e400 is out of the double range`},
		{"varchar too long", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "name": "abcdef"}`,
			`rows.jsonl:1: field "name": length 6 bytes exceeds max_length 5`},
		{"varchar wrong type", testSchema(), `{"id": 1, "vector": [1, 2, 3, 4], "name": 5}`,
			`rows.jsonl:1: field "name": want a string, got the number 5`},
		{"empty varchar pk", varcharSchema(pb.Metric_L2), `{"pk": "", "emb": [1, 2]}`,
			`rows.jsonl:1: field "pk": the primary key must not be empty`},
		{"int varchar pk", varcharSchema(pb.Metric_L2), `{"pk": 1, "emb": [1, 2]}`,
			`rows.jsonl:1: field "pk": want a string, got the number 1`},
		{"duplicate varchar pk", varcharSchema(pb.Metric_L2), `{"pk": "a", "emb": [1, 2]}` + "\n" + `{"pk": "a", "emb": [1, 2]}`,
			`rows.jsonl:2: field "pk": primary key "a" is also on line 1`},
		{"cosine zero vector", varcharSchema(pb.Metric_COSINE), `{"pk": "a", "emb": [0, 0]}`,
			`rows.jsonl:1: field "emb": the zero vector has no cosine; the metric is cosine`},
		{"auto_id pk given", autoIDSchema(), `{"id": 1, "vector": [1, 2]}`,
			`rows.jsonl:1: field "id": the primary key is auto_id, so rows must not carry it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(mustRowSchema(t, tt.schema), tt.text, 1000)
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err.Error(), tt.want)
			}
			var le *lineError
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *lineError", err)
			}
		})
	}
}

// A bad line in a later batch fails that batch, after the earlier ones
// were returned: the streaming mode relies on this to say what was sent.
func TestJSONLErrorInLaterBatch(t *testing.T) {
	rs := mustRowSchema(t, testSchema())
	text := `{"id": 1, "vector": [1, 2, 3, 4]}` + "\n" + `{"id": 2, "vector": [1, 2, 3, 4]}` + "\n" + `{"id": 3, "vector": [1]}` + "\n"
	batches, err := readAll(rs, text, 2)
	if len(batches) != 1 || batches[0].len() != 2 {
		t.Fatalf("got %d batches before the error, want one of 2 rows", len(batches))
	}
	if err == nil || !strings.HasPrefix(err.Error(), "rows.jsonl:3: ") {
		t.Fatalf("err = %v, want one for line 3", err)
	}
}

func TestJSONLNoDuplicateCheck(t *testing.T) {
	rs := mustRowSchema(t, testSchema())
	line := `{"id": 1, "vector": [1, 2, 3, 4]}` + "\n"
	jr := newJSONLReader(rs, strings.NewReader(line+line), "f", false)
	b, err := jr.next(10, maxBatchInput)
	if err != nil {
		t.Fatalf("with the check off, a repeated key is left to the server: %v", err)
	}
	if b.len() != 2 {
		t.Errorf("got %d rows, want 2", b.len())
	}
}

func TestParseIDList(t *testing.T) {
	tests := []struct {
		in      string
		varchar bool
		ints    []int64
		strs    []string
		wantErr string
	}{
		{in: "1,2,3", ints: []int64{1, 2, 3}},
		{in: " 7 , -8,", ints: []int64{7, -8}},
		{in: "[4, 5]", ints: []int64{4, 5}},
		{in: "9223372036854775807", ints: []int64{math.MaxInt64}},
		{in: "a,b", varchar: true, strs: []string{"a", "b"}},
		{in: `["a,b", "c"]`, varchar: true, strs: []string{"a,b", "c"}},
		{in: "42", varchar: true, strs: []string{"42"}},
		{in: "", wantErr: "--ids: no ids given"},
		{in: " , ", wantErr: "--ids: no ids given"},
		{in: "1,x", wantErr: `--ids: "x" is not an int64; the primary key is int64`},
		{in: "1.5", wantErr: `--ids: "1.5" is not an int64`},
		{in: "1,2,1", wantErr: "--ids: 1 is given twice"},
		{in: "a,a", varchar: true, wantErr: `--ids: "a" is given twice`},
		{in: `[1]`, varchar: true, wantErr: "--ids: 1 is not a string; the primary key is varchar"},
		{in: `[""]`, varchar: true, wantErr: "--ids: an id is empty"},
		{in: `[1,`, wantErr: "--ids: invalid JSON array"},
	}
	for _, tt := range tests {
		ints, strs, err := parseIDList(tt.in, tt.varchar)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("parseIDList(%q, %v) error = %v, want prefix %q", tt.in, tt.varchar, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseIDList(%q, %v): %v", tt.in, tt.varchar, err)
			continue
		}
		if !equalInt64s(ints, tt.ints) || strings.Join(strs, "|") != strings.Join(tt.strs, "|") || len(strs) != len(tt.strs) {
			t.Errorf("parseIDList(%q, %v) = %v %q, want %v %q", tt.in, tt.varchar, ints, strs, tt.ints, tt.strs)
		}
	}
}

func equalInt64s(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseVectorArg(t *testing.T) {
	tests := []struct {
		in      string
		want    []float32
		nq      int
		wantErr string
	}{
		{in: "[0.1,0.2,0.3]", want: []float32{0.1, 0.2, 0.3}, nq: 1},
		{in: " [ 1 , -2e1 ] ", want: []float32{1, -20}, nq: 1},
		{in: "1, 2, 3", want: []float32{1, 2, 3}, nq: 1},
		{in: "[[1,2],[3,4],[5,6]]", want: []float32{1, 2, 3, 4, 5, 6}, nq: 3},
		{in: "", wantErr: "--vector: empty"},
		{in: "[]", wantErr: "--vector: the array is empty"},
		{in: "[1,2", wantErr: "--vector: want a JSON array of numbers"},
		{in: `[1,"2"]`, wantErr: "--vector: element 1: want a number, got a string"},
		{in: "[1,1e39]", wantErr: "--vector: element 1: 1e39 is out of the float32 range"},
		{in: "[[1,2],[3]]", wantErr: "--vector: query 1 has 1 numbers but query 0 has 2"},
		{in: "[[1,2],3]", wantErr: "--vector: query 1: want an array of numbers, got the number 3"},
		{in: "[[]]", wantErr: "--vector: query 0 is empty"},
	}
	for _, tt := range tests {
		got, nq, err := parseVectorArg(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("parseVectorArg(%q) error = %v, want prefix %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseVectorArg(%q): %v", tt.in, err)
			continue
		}
		if nq != tt.nq || len(got) != len(tt.want) {
			t.Errorf("parseVectorArg(%q) = %v (nq %d), want %v (nq %d)", tt.in, got, nq, tt.want, tt.nq)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseVectorArg(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestReadOptions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		flags   readFlags
		want    *pb.ReadOptions
		wantErr string
	}{
		{name: "nothing", want: &pb.ReadOptions{Level: pb.ConsistencyLevel_DEFAULT}},
		{name: "default spelled out", flags: readFlags{consistency: "default"}, want: &pb.ReadOptions{Level: pb.ConsistencyLevel_DEFAULT}},
		{name: "strong", flags: readFlags{consistency: "strong"}, want: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}},
		{name: "bounded", flags: readFlags{consistency: "BOUNDED"}, want: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED}},
		{name: "session without token", flags: readFlags{consistency: "session"}, want: &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION}},
		{name: "as-of with staleness", flags: readFlags{maxStaleness: time.Second, asOf: "12345"},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 1000, AsOfTs: 12345}},
		{name: "case", flags: readFlags{consistency: " Eventual"}, want: &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}},
		{name: "bounded with staleness", flags: readFlags{consistency: "bounded", maxStaleness: 1500 * time.Millisecond},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 1500}},
		{name: "staleness implies bounded", flags: readFlags{maxStaleness: 5 * time.Second},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 5000}},
		{name: "bounded alone uses the server default", flags: readFlags{consistency: "bounded"},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED}},
		{name: "token implies session", flags: readFlags{sessionToken: 77},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION, SessionToken: 77}},
		{name: "session with token", flags: readFlags{consistency: "session", sessionToken: 77},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION, SessionToken: 77}},
		{name: "as-of ts", flags: readFlags{consistency: "eventual", asOf: "12345"},
			want: &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL, AsOfTs: 12345}},
		{name: "as-of relative", flags: readFlags{asOf: "-30s"},
			want: &pb.ReadOptions{AsOfTs: shard.MakeTs(now.Add(-30 * time.Second))}},
		{name: "as-of time", flags: readFlags{asOf: "2026-03-01T11:00:00Z"},
			want: &pb.ReadOptions{AsOfTs: shard.MakeTs(now.Add(-time.Hour))}},
		{name: "unknown level", flags: readFlags{consistency: "linearizable"},
			wantErr: `--consistency: "linearizable" is not a level; want strong, bounded, session or eventual`},
		{name: "staleness with strong", flags: readFlags{consistency: "strong", maxStaleness: time.Second},
			wantErr: "--max-staleness applies to --consistency bounded, not strong"},
		{name: "token with eventual", flags: readFlags{consistency: "eventual", sessionToken: 1},
			wantErr: "--session-token applies to --consistency session, not eventual"},
		{name: "staleness below 1ms", flags: readFlags{maxStaleness: time.Microsecond},
			wantErr: "--max-staleness (1µs) must be between 1ms and"},
		{name: "negative staleness", flags: readFlags{maxStaleness: -time.Second},
			wantErr: "--max-staleness (-1s) must be between 1ms and"},
		{name: "bad as-of", flags: readFlags{asOf: "yesterday"}, wantErr: `--as-of: "yesterday" is not a ts`},
		{name: "as-of zero", flags: readFlags{asOf: "0"}, wantErr: "--as-of: ts 0 is not a time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.flags.readOptions(now)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCreateRequest(t *testing.T) {
	req, err := createFlags{dim: 4, metric: "COSINE", replicas: 3, autoID: true}.createRequest("c")
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.CreateCollectionRequest{Replicas: 3, Schema: &pb.CollectionSchema{Name: "c", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true, AutoId: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 4, Metric: pb.Metric_COSINE},
	}}}
	if !proto.Equal(req, want) {
		t.Errorf("got %v, want %v", req, want)
	}

	schema := []byte(`{"fields": [{"name": "pk", "type": "VARCHAR", "primaryKey": true, "maxLength": 64},
		{"name": "emb", "type": "FLOAT_VECTOR", "dim": 8, "metric": "IP"}]}`)
	req, err = createFlags{schema: schema}.createRequest("s")
	if err != nil {
		t.Fatal(err)
	}
	if req.Schema.Name != "s" || len(req.Schema.Fields) != 2 || req.Schema.Fields[1].Dim != 8 || req.Schema.Fields[1].Metric != pb.Metric_IP {
		t.Errorf("schema from --schema = %v", req.Schema)
	}

	for _, tt := range []struct {
		f       createFlags
		wantErr string
	}{
		{createFlags{dim: 4, metric: "l2", consistency: "linearizable"}, `--consistency: "linearizable" is not a level`},
		{createFlags{schema: []byte(`{"defaultConsistency": "SESSION"}`), consistency: "bounded"},
			"--consistency bounded contradicts the schema's defaultConsistency session"},
		{createFlags{metric: "l2"}, "--dim is required"},
		{createFlags{dim: 4}, "--metric is required"},
		{createFlags{dim: 4, metric: "hamming"}, `--metric: "hamming" is not a metric`},
		{createFlags{dim: 4, schema: schema}, "--schema gives the whole schema"},
		{createFlags{schema: []byte(`{"name": "other"}`)}, `--schema names collection "other" but the command names "s"`},
		{createFlags{schema: []byte(`{"fields": 3}`)}, "--schema: not a CollectionSchema in protojson"},
	} {
		if _, err := tt.f.createRequest("s"); err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("createRequest(%+v) error = %v, want prefix %q", tt.f, err, tt.wantErr)
		}
	}
}

func TestCreateConsistency(t *testing.T) {
	tests := []struct {
		name string
		f    createFlags
		want pb.ConsistencyLevel
	}{
		{"none given", createFlags{dim: 4, metric: "l2"}, pb.ConsistencyLevel_DEFAULT},
		{"strong", createFlags{dim: 4, metric: "l2", consistency: "strong"}, pb.ConsistencyLevel_STRONG},
		{"bounded", createFlags{dim: 4, metric: "l2", consistency: "bounded"}, pb.ConsistencyLevel_BOUNDED},
		{"session", createFlags{dim: 4, metric: "l2", consistency: " Session "}, pb.ConsistencyLevel_SESSION},
		{"eventual", createFlags{dim: 4, metric: "l2", consistency: "EVENTUAL"}, pb.ConsistencyLevel_EVENTUAL},
		{"with --schema", createFlags{schema: []byte(`{}`), consistency: "eventual"}, pb.ConsistencyLevel_EVENTUAL},
		{"from the schema", createFlags{schema: []byte(`{"defaultConsistency": "BOUNDED"}`)}, pb.ConsistencyLevel_BOUNDED},
		{"schema and flag agree", createFlags{schema: []byte(`{"defaultConsistency": "BOUNDED"}`), consistency: "bounded"}, pb.ConsistencyLevel_BOUNDED},
		{"schema strong, flag default", createFlags{schema: []byte(`{"defaultConsistency": "STRONG"}`), consistency: "default"}, pb.ConsistencyLevel_DEFAULT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.f.createRequest("s")
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Schema.DefaultConsistency; got != tt.want {
				t.Errorf("default_consistency = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReplicaFlags(t *testing.T) {
	tests := []struct {
		name    string
		f       replicaFlags
		wantErr string
	}{
		{"non-voter", replicaFlags{node: "n4", nonVoter: true}, ""},
		{"voter", replicaFlags{node: "n4"}, "only analytics (non-voter) replicas can be added by hand for now; add --non-voter"},
		{"no node", replicaFlags{nonVoter: true}, "--node is required"},
		{"blank node", replicaFlags{node: " ", nonVoter: true}, "--node is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.check()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

// TestReplicaAddCommand runs the command up to the point where it would
// dial: the flags are checked before anything is sent.
func TestReplicaAddCommand(t *testing.T) {
	var out bytes.Buffer
	e := &cliEnv{ctx: context.Background(), stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }, now: time.Now}
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"add", "c", "--node", "n4"}, "replica add: only analytics (non-voter) replicas can be added by hand"},
		{[]string{"add", "--non-voter", "c"}, "replica add: --node is required"},
		{[]string{"add", "--node", "n4", "--non-voter"}, "replica add: want COLLECTION"},
		{nil, "replica: want a subcommand: add"},
		{[]string{"remove", "c"}, `unknown command "replica remove"`},
	}
	for _, tt := range tests {
		if err := e.run("replica", tt.args); err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("replica %q: error = %v, want prefix %q", tt.args, err, tt.wantErr)
		}
	}
	if err := e.run("replica", []string{"add", "-h"}); err != nil {
		t.Fatalf("replica add -h: %v", err)
	}
	if !strings.Contains(out.String(), "Usage: raftvec replica add COLLECTION --node N --non-voter") || !strings.Contains(out.String(), "-non-voter") {
		t.Errorf("replica add -h printed:\n%s", out.String())
	}
}

func TestPrintDescribe(t *testing.T) {
	for _, tt := range []struct {
		level pb.ConsistencyLevel
		want  string
	}{
		{pb.ConsistencyLevel_DEFAULT, "consistency strong (reads that name no level)\n"},
		{pb.ConsistencyLevel_BOUNDED, "consistency bounded (reads that name no level)\n"},
		{pb.ConsistencyLevel_EVENTUAL, "consistency eventual (reads that name no level)\n"},
	} {
		s := testSchema()
		s.DefaultConsistency = tt.level
		var out bytes.Buffer
		printDescribe(&out, &pb.DescribeCollectionResponse{Schema: s, Rows: 3})
		if !strings.Contains(out.String(), "collection  c\n"+tt.want+"rows        3\n") {
			t.Errorf("describe with %v printed:\n%s", tt.level, out.String())
		}
	}
}

func TestInterleavedFlags(t *testing.T) {
	e := &cliEnv{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	tests := []struct {
		args   []string
		pos    []string
		random int64
		quiet  bool
		addr   string
	}{
		{args: []string{"c", "--random", "10"}, pos: []string{"c"}, random: 10, addr: defaultAddr},
		{args: []string{"--random=10", "c", "--quiet"}, pos: []string{"c"}, random: 10, quiet: true, addr: defaultAddr},
		{args: []string{"--quiet", "c", "-addr", "h:1,h:2"}, pos: []string{"c"}, quiet: true, addr: "h:1,h:2"},
		{args: []string{"--", "-c"}, pos: []string{"-c"}, addr: defaultAddr},
	}
	for _, tt := range tests {
		fs, cf := e.newFlags("insert", defaultTimeout)
		random := fs.Int64("random", 0, "")
		quiet := fs.Bool("quiet", false, "")
		pos, err := e.parseFlags(fs, "insert", tt.args, "NAME")
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if strings.Join(pos, " ") != strings.Join(tt.pos, " ") || *random != tt.random || *quiet != tt.quiet || cf.addr != tt.addr {
			t.Errorf("%q: pos %q random %d quiet %v addr %q; want %q %d %v %q", tt.args, pos, *random, *quiet, cf.addr, tt.pos, tt.random, tt.quiet, tt.addr)
		}
	}

	fs, _ := e.newFlags("insert", defaultTimeout)
	if _, err := e.parseFlags(fs, "insert", []string{"a", "b"}, "NAME"); err == nil || !strings.Contains(err.Error(), "want NAME") {
		t.Errorf("two positionals: error = %v, want one naming NAME", err)
	}
	fs, _ = e.newFlags("insert", defaultTimeout)
	if _, err := e.parseFlags(fs, "insert", []string{"c", "--nope"}, "NAME"); err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -nope") {
		t.Errorf("unknown flag: error = %v", err)
	}

	env := &cliEnv{getenv: func(k string) string {
		if k == addrEnv {
			return "10.0.0.1:7400,10.0.0.2:7400"
		}
		return ""
	}}
	_, cf := env.newFlags("status", defaultTimeout)
	if cf.addr != "10.0.0.1:7400,10.0.0.2:7400" {
		t.Errorf("--addr default = %q, want $%s", cf.addr, addrEnv)
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	e := &cliEnv{ctx: context.Background(), stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }, now: time.Now}
	if err := e.run("insert", []string{"-h"}); err != nil {
		t.Fatalf("insert -h: %v", err)
	}
	if !strings.Contains(out.String(), "Usage: raftvec insert NAME") || !strings.Contains(out.String(), "-batch") {
		t.Errorf("insert -h printed:\n%s", out.String())
	}
	err := e.run("frobnicate", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) ||
		!strings.Contains(err.Error(), "collection create|describe|drop|list") || !strings.Contains(err.Error(), "search") ||
		!strings.Contains(err.Error(), "replica add") || !strings.Contains(err.Error(), "the commands are server, dev, ") {
		t.Errorf("unknown command error = %v", err)
	}
	if err := e.run("collection", nil); err == nil || !strings.Contains(err.Error(), "create, list, describe or drop") {
		t.Errorf("bare collection error = %v", err)
	}
}

func TestRandomRows(t *testing.T) {
	rs := mustRowSchema(t, testSchema())
	all := randomRows(rs, 7, []int64{1, 2, 3})
	part := randomRows(rs, 7, []int64{3})
	if !equalInt64s(all.IntIds, []int64{1, 2, 3}) {
		t.Errorf("ids = %v", all.IntIds)
	}
	if len(all.Vectors) != 12 {
		t.Fatalf("got %d floats, want 12", len(all.Vectors))
	}
	for i := range 4 {
		if all.Vectors[8+i] != part.Vectors[i] {
			t.Fatalf("row 3's vector depends on the batch: %v vs %v", all.Vectors[8:], part.Vectors)
		}
	}
	for r := range 3 {
		var norm float64
		for _, x := range all.Vectors[4*r : 4*r+4] {
			norm += float64(x) * float64(x)
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Errorf("row %d has squared norm %v, want 1", r, norm)
		}
	}
	if other := randomRows(rs, 8, []int64{1}); other.Vectors[0] == all.Vectors[0] && other.Vectors[1] == all.Vectors[1] {
		t.Errorf("seed 8 gave the same vector as seed 7")
	}
	if len(all.Fields) != 5 || len(all.Fields[3].Values) != 3 || all.Fields[3].Values[0].GetVarchar() != "row-1" {
		t.Errorf("scalar columns = %v", all.Fields)
	}

	vs := randomRows(mustRowSchema(t, varcharSchema(pb.Metric_L2)), 1, []int64{10, 11})
	if strings.Join(vs.StrIds, ",") != "10,11" || len(vs.IntIds) != 0 {
		t.Errorf("varchar ids = %q / %v", vs.StrIds, vs.IntIds)
	}
	as := randomRows(mustRowSchema(t, autoIDSchema()), 1, []int64{1, 2})
	if len(as.IntIds) != 0 || len(as.Vectors) != 4 {
		t.Errorf("auto_id rows = %v", as)
	}
}

func TestAPIErr(t *testing.T) {
	cf := &commonFlags{addr: "127.0.0.1:7400", timeout: 3 * time.Second}
	tests := []struct {
		in   error
		want string
	}{
		{status.Error(codes.InvalidArgument, `invalid argument: field "vector": got 3 floats`), `INVALID_ARGUMENT: field "vector": got 3 floats`},
		{status.Error(codes.NotFound, `collection "x" not found`), `NOT_FOUND: collection "x" not found`},
		{status.Error(codes.Unavailable, "connection error: desc = dial tcp: connection refused"),
			"UNAVAILABLE: connection error: desc = dial tcp: connection refused (is a raftvec node running at that address? --addr or $RAFTVEC_ADDR picks the nodes)"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "DEADLINE_EXCEEDED: no answer within --timeout 3s"},
		{status.Error(codes.DeadlineExceeded, "replica is 2s behind the session token"), "DEADLINE_EXCEEDED: replica is 2s behind the session token"},
		{context.DeadlineExceeded, "DEADLINE_EXCEEDED: no answer within --timeout 3s"},
		{context.Canceled, "CANCELLED: interrupted"},
	}
	for _, tt := range tests {
		if got := apiErr(tt.in, cf).Error(); got != tt.want {
			t.Errorf("apiErr(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if apiErr(nil, cf) != nil {
		t.Error("apiErr(nil) is not nil")
	}
}

func TestBatchErrNamesTheLine(t *testing.T) {
	w := &rowWriter{cf: &commonFlags{}}
	b := &rowBatch{lines: []int{1001, 1003, 1004}}
	err := w.batchErr(apiErr(status.Error(codes.InvalidArgument, `invalid argument: field "price": row 1 is null but the field is not nullable and has no default`), w.cf), "rows.jsonl "+b.lineRange(), b)
	want := `rows.jsonl lines 1001-1004: INVALID_ARGUMENT: field "price": row 1 is null but the field is not nullable and has no default (row 1 of the batch is line 1003); nothing was written`
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err.Error(), want)
	}

	w.rows, w.through, w.last = 1000, "line 1000", &pb.WriteResponse{SessionToken: 99}
	err = w.batchErr(apiErr(context.DeadlineExceeded, w.cf), "rows.jsonl "+b.lineRange(), b)
	if !strings.Contains(err.Error(), "1000 rows, through line 1000, were inserted before it (session token 99)") || !strings.Contains(err.Error(), "may or may not have been written") {
		t.Errorf("unknown outcome error = %q", err.Error())
	}
}

func TestPrintStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	safe := shard.MakeTs(now.Add(-1500 * time.Millisecond))
	nodes := []*pb.NodeStatus{{Id: "n1", ApiAddr: "127.0.0.1:7400", RaftAddr: "127.0.0.1:7401", State: "member"},
		{Id: "n2", ApiAddr: "127.0.0.1:7410", RaftAddr: "127.0.0.1:7411", State: "member"},
		{Id: "n3", ApiAddr: "127.0.0.1:7420", RaftAddr: "127.0.0.1:7421", State: "member"}}
	r1 := &pb.StatusResponse{Node: "n1", Kernel: "avx2", IndexBuilder: "cpu (avx2)", Nodes: nodes, Groups: []*pb.GroupStatus{
		{Group: "demo-1", Collection: "demo", Node: "n1", Role: "Leader", Suffrage: "voter", Leader: "n1", Term: 2, AppliedIndex: 10, CommitIndex: 10,
			SafeTs: safe, LagMs: 40, Segments: 1, Rows: 100, Digest: "0123456789abcdef", SealedSegments: 3, IndexedSegments: 2},
		{Group: "_meta", Node: "n1", Role: "Leader", Leader: "n1", Term: 2, AppliedIndex: 5, CommitIndex: 5},
	}}
	r2 := &pb.StatusResponse{Node: "n2", Kernel: "generic", Nodes: nodes, Groups: []*pb.GroupStatus{
		{Group: "demo-1", Collection: "demo", Node: "n2", Role: "Follower", Suffrage: "voter", Leader: "n1", Term: 2, AppliedIndex: 9, CommitIndex: 10,
			SafeTs: safe, LagMs: 1500, Segments: 1, Rows: 99, Digest: "fedcba9876543210"},
	}}
	// n3's clock is behind the leader's: its lag is negative.
	r3 := &pb.StatusResponse{Node: "n3", Kernel: "generic", Nodes: nodes, Groups: []*pb.GroupStatus{
		{Group: "demo-1", Collection: "demo", Node: "n3", Role: "Follower", Suffrage: "nonvoter", Leader: "n1", Term: 2, AppliedIndex: 10, CommitIndex: 10,
			SafeTs: safe, LagMs: -20, Segments: 1, Rows: 100, Digest: "0123456789abcdef"},
	}}
	var out bytes.Buffer
	printStatus(&out, []*pb.StatusResponse{r1, r2, r3})
	got := out.String()
	lines := map[string]string{}
	for _, l := range strings.Split(got, "\n") {
		if f := strings.Fields(l); len(f) > 2 {
			lines[f[0]+"/"+f[2]] = l
		}
	}
	for _, want := range []string{
		"answered by n1, n2, n3; kernel: n1 avx2, n2 generic, n3 generic; index builder: n1 cpu (avx2), n2 -, n3 -\n",
		"n2    127.0.0.1:7410  127.0.0.1:7411  member",
		"SUFFRAGE", "LAG", "INDEXED", "0123456789ab\n", "fedcba987654\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status output lacks %q:\n%s", want, got)
		}
	}
	// SUFFRAGE and LAG come from the server: the lag is the node's own
	// measurement, not this machine's clock against the safe ts.
	for _, tt := range []struct{ row, suffrage, lag, indexed string }{
		{"demo-1/n1", "voter", "40ms", "2/3"},
		{"demo-1/n2", "voter", "1.5s", "0/0"},
		{"demo-1/n3", "nonvoter", "-20ms", "0/0"},
		{"_meta/n1", "-", "-", "-"},
	} {
		f := strings.Fields(lines[tt.row])
		if len(f) != 15 || f[4] != tt.suffrage || f[10] != tt.lag || f[12] != tt.indexed {
			t.Errorf("row %s = %q, want suffrage %s, lag %s and indexed %s", tt.row, lines[tt.row], tt.suffrage, tt.lag, tt.indexed)
		}
	}
	// Groups sorted by group then node: _meta, demo-1/n1, demo-1/n2.
	iMeta, iN1, iN2 := strings.Index(got, "_meta"), strings.Index(got, "0123456789ab"), strings.Index(got, "fedcba987654")
	if !(iMeta < iN1 && iN1 < iN2) {
		t.Errorf("groups out of order:\n%s", got)
	}
	if strings.Contains(got, "0123456789abc") {
		t.Errorf("digest not cut to 12 characters:\n%s", got)
	}
}

func TestFormatting(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{formatScore(0.123456789), "0.123457"},
		{formatScore(1234567), "1.23457e+06"},
		{formatScore(2), "2"},
		{formatVector([]float32{1, 0.5, 0.25, 0.125, 9}, 4), "[1, 0.5, 0.25, 0.125, … (5 dims)]"},
		{formatVector([]float32{1, 2}, 4), "[1, 2]"},
		{formatVector(decodeVector([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}), 4), "[1, 2]"},
		{formatValue(&pb.Value{}), "null"},
		{formatValue(str("a\tb")), `"a\tb"`},
		{formatValue(dbl(0.1)), "0.1"},
		{formatValue(jsonv("{\"a\":\n1}")), `{"a": 1}`},
		{summarizeIDs([]int64{1, 2, 3}), "1, 2, 3"},
		{summarizeIDs([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), "1, 2, … 10, 11 (11 ids; --json lists them all)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// BenchmarkParseRow measures JSONL parsing of one 128-d row, the client's
// share of a file import.
func BenchmarkParseRow(b *testing.B) {
	s := testSchema()
	s.Fields[1].Dim = 128
	rs, err := newRowSchema(s)
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString(`{"id": 1, "price": 9.5, "vector": [`)
	for i := range 128 {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.FormatFloat(float64(randomVector(1, 1, 128)[i]), 'g', -1, 32))
	}
	sb.WriteString(`]}`)
	line := []byte(sb.String())
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := parseRow(rs, line); err != nil {
			b.Fatal(err)
		}
	}
}
