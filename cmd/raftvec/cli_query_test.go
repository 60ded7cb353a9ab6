package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/rpc/pb"
)

func testEnv(out io.Writer) *cliEnv {
	return &cliEnv{ctx: context.Background(), stdout: out, stderr: io.Discard, getenv: func(string) string { return "" }, now: time.Now}
}

func f32(v float32) *float32 { return &v }

func TestSearchFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    *pb.SearchRequest
		wantErr string
	}{
		{args: nil, want: &pb.SearchRequest{}},
		{
			args: []string{"--filter", ` category == "shoes" `, "--partitions", "a, b,", "--offset", "20", "--ef", "128", "--nprobe", "16"},
			want: &pb.SearchRequest{Filter: `category == "shoes"`, PartitionNames: []string{"a", "b"}, Offset: 20, Ef: 128, Nprobe: 16},
		},
		{args: []string{"--radius", "2.5"}, want: &pb.SearchRequest{Radius: f32(2.5)}},
		{args: []string{"--radius=0.5", "--range-filter", "0.9"}, want: &pb.SearchRequest{Radius: f32(0.5), RangeFilter: f32(0.9)}},
		{args: []string{"--radius", "0"}, want: &pb.SearchRequest{Radius: f32(0)}},
		{args: []string{"--range-filter", "1"}, wantErr: "--range-filter needs --radius"},
		{args: []string{"--radius", "x"}, wantErr: `invalid value "x" for flag -radius: "x" is not a finite number`},
		{args: []string{"--radius", "NaN"}, wantErr: "is not a finite number"},
		{args: []string{"--offset", "4294967296"}, wantErr: "--offset (4294967296) is too large"},
		{args: []string{"--nprobe", "16", "--refine", "4"}, want: &pb.SearchRequest{Nprobe: 16, Refine: 4}},
		{args: []string{"--refine", "300"}, wantErr: "--refine (300) must be between 1 and 256"},
	}
	for _, tt := range tests {
		e := testEnv(io.Discard)
		fs, _ := e.newFlags("search", defaultTimeout)
		sf := addSearchFlags(fs)
		_, err := e.parseFlags(fs, "search", append([]string{"c"}, tt.args...), "NAME")
		req := &pb.SearchRequest{}
		if err == nil {
			err = sf.apply(req)
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !proto.Equal(req, tt.want) {
			t.Errorf("%q: request = %v, want %v", tt.args, req, tt.want)
		}
	}
}

func TestDeleteTarget(t *testing.T) {
	tests := []struct {
		ids, filter, parts string
		byFilter           bool
		wantErr            string
	}{
		{ids: "1,2", byFilter: false},
		{filter: `meta["color"] == "blue"`, byFilter: true},
		{filter: "x > 1", parts: "p", byFilter: true},
		{ids: "1", filter: "id == 1", wantErr: "give --ids or --filter, not both"},
		{ids: "1", parts: "p", wantErr: "--partitions goes with --filter"},
		{parts: "p", wantErr: "--partitions needs --filter"},
		{filter: "   ", wantErr: "give --ids 1,2,3 or --filter"},
		{wantErr: "give --ids 1,2,3 or --filter"},
	}
	for _, tt := range tests {
		got, err := deleteTarget(tt.ids, &filterFlags{filter: tt.filter, partitions: tt.parts})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%+v: error = %v, want %q", tt, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.byFilter {
			t.Errorf("%+v: got %v, %v", tt, got, err)
		}
	}
}

func TestIndexRequest(t *testing.T) {
	tests := []struct {
		f       indexFlags
		want    *pb.CreateIndexRequest
		wantErr string
	}{
		{f: indexFlags{typ: "hnsw"}, want: &pb.CreateIndexRequest{Collection: "c", IndexType: "HNSW"}},
		{f: indexFlags{typ: "HNSW", m: 32, efConstruction: 100, set: map[string]bool{"m": true, "ef-construction": true}},
			want: &pb.CreateIndexRequest{Collection: "c", IndexType: "HNSW", M: 32, EfConstruction: 100}},
		{f: indexFlags{typ: "ivf-flat", nlist: 64, field: "emb", set: map[string]bool{"nlist": true}},
			want: &pb.CreateIndexRequest{Collection: "c", IndexType: "IVF_FLAT", Nlist: 64, FieldName: "emb"}},
		{f: indexFlags{typ: "ivf_sq8"}, want: &pb.CreateIndexRequest{Collection: "c", IndexType: "IVF_SQ8"}},
		{f: indexFlags{typ: "flat"}, want: &pb.CreateIndexRequest{Collection: "c", IndexType: "FLAT"}},
		{f: indexFlags{typ: "ivf_pq", nlist: 256, pqM: 32, set: map[string]bool{"nlist": true, "pq-m": true}},
			want: &pb.CreateIndexRequest{Collection: "c", IndexType: "IVF_PQ", Nlist: 256, PqM: 32}},
		{f: indexFlags{typ: "ivf-pq"}, want: &pb.CreateIndexRequest{Collection: "c", IndexType: "IVF_PQ"}},
		{f: indexFlags{typ: "ivf_sq8", pqM: 8, set: map[string]bool{"pq-m": true}}, wantErr: "--pq-m does not apply to ivf_sq8 indexes"},
		{f: indexFlags{typ: "ivf_pq", pqM: 0, set: map[string]bool{"pq-m": true}}, wantErr: "--pq-m (0) must be between 1 and 1024"},
		{f: indexFlags{}, wantErr: "--type is required: hnsw, ivf_flat, ivf_sq8, ivf_pq or flat"},
		{f: indexFlags{typ: "annoy"}, wantErr: `--type: "annoy" is not an index type`},
		{f: indexFlags{typ: "ivf_flat", m: 8, set: map[string]bool{"m": true}}, wantErr: "--m does not apply to ivf_flat indexes"},
		{f: indexFlags{typ: "flat", nlist: 8, set: map[string]bool{"nlist": true}}, wantErr: "--nlist does not apply to flat indexes"},
		{f: indexFlags{typ: "hnsw", m: 0, set: map[string]bool{"m": true}}, wantErr: "--m (0) must be between 4 and 64"},
		{f: indexFlags{typ: "hnsw", efConstruction: 1000, set: map[string]bool{"ef-construction": true}}, wantErr: "--ef-construction (1000) must be between 8 and 512"},
		{f: indexFlags{typ: "ivf_sq8", nlist: 70000, set: map[string]bool{"nlist": true}}, wantErr: "--nlist (70000) must be between 1 and 65536"},
	}
	for _, tt := range tests {
		got, err := tt.f.request("c")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%+v: error = %v, want %q", tt.f, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !proto.Equal(got, tt.want) {
			t.Errorf("%+v: got %v, %v; want %v", tt.f, got, err, tt.want)
		}
	}
}

func TestPrintQuery(t *testing.T) {
	rs := mustRowSchema(t, testSchema())
	fields, err := queryFields(rs, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(fields, ",") != "ok,n,price,name,meta" {
		t.Fatalf("default query fields = %q, want every scalar and no vector", fields)
	}
	if f, err := queryFields(rs, "meta,id,vector"); err != nil || strings.Join(f, ",") != "meta,vector" {
		t.Errorf("queryFields(meta,id,vector) = %q, %v", f, err)
	}
	if _, err := queryFields(rs, "colour"); err == nil || !strings.Contains(err.Error(), `"colour" is not a field`) {
		t.Errorf("unknown output field: error = %v", err)
	}

	resp := &pb.QueryResponse{Ts: 0, SessionToken: 9, Rows: &pb.Rows{IntIds: []int64{3, 8}, Fields: []*pb.FieldColumn{
		{Name: "name", Values: []*pb.Value{str("a b"), {}}},
		{Name: "meta", Values: []*pb.Value{jsonv(`{"color":"red","size":3}`), jsonv("[1,\n2]")}},
	}}}
	var out bytes.Buffer
	printQuery(&out, rs, resp, []string{"name", "meta"}, 2, 0)
	want := "id  name  meta\n" +
		"3   a b   {\"color\":\"red\",\"size\":3}\n" +
		"8   null  [1, 2]\n" +
		"2 rows\n" +
		"the limit of 2 rows was reached; --offset 2 shows the next ones\n" +
		"read at ts 0; session token 9\n"
	if out.String() != want {
		t.Errorf("printQuery:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	printQuery(&out, rs, &pb.QueryResponse{Rows: &pb.Rows{}}, fields, 0, 0)
	if out.String() != "no rows match\nread at ts 0; session token 0\n" {
		t.Errorf("empty query printed %q", out.String())
	}
	out.Reset()
	printQuery(&out, rs, &pb.QueryResponse{Rows: &pb.Rows{}}, fields, 10, 30)
	if !strings.HasPrefix(out.String(), "no rows match after skipping 30\n") {
		t.Errorf("empty page printed %q", out.String())
	}
}

func TestPrintIndex(t *testing.T) {
	var out bytes.Buffer
	printIndex(&out, "c", &pb.DescribeIndexResponse{FieldName: "vector", IndexType: "HNSW", M: 16, EfConstruction: 200,
		SealedSegments: 4, IndexedSegments: 3, Builder: "cpu (avx2)", Node: "n2"})
	want := "collection  c\nfield       vector\nindex       HNSW (m 16, ef-construction 200)\n" +
		"segments    3 of 4 sealed segments indexed on node n2 (the others are searched exactly until built)\n" +
		"builder     cpu (avx2)\n"
	if out.String() != want {
		t.Errorf("printIndex:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	printIndex(&out, "c", &pb.DescribeIndexResponse{FieldName: "vector", IndexType: "IVF_SQ8", Nlist: 1024, SealedSegments: 2, IndexedSegments: 2, Node: "n1"})
	if !strings.Contains(out.String(), "index       IVF_SQ8 (nlist 1024)\n") || !strings.Contains(out.String(), "2 of 2 sealed segments indexed on node n1\n") {
		t.Errorf("IVF index printed:\n%s", out.String())
	}
	out.Reset()
	printIndex(&out, "c", &pb.DescribeIndexResponse{FieldName: "vector", IndexType: "IVF_PQ", Nlist: 256, PqM: 32, SealedSegments: 1, IndexedSegments: 1, Node: "n1"})
	if !strings.Contains(out.String(), "index       IVF_PQ (nlist 256, pq-m 32)\n") {
		t.Errorf("IVF_PQ index printed:\n%s", out.String())
	}
	out.Reset()
	printIndex(&out, "c", &pb.DescribeIndexResponse{FieldName: "vector", Node: "n1"})
	if !strings.Contains(out.String(), "index       none (every segment is searched exactly)\n") {
		t.Errorf("no index printed:\n%s", out.String())
	}
}

// TestJSONLScalarFields: JSON values of any kind go through compacted,
// and a field left out (or null) is sent as "not given" so that the server
// can fill in its default; the client does not refuse it.
func TestJSONLScalarFields(t *testing.T) {
	s := &pb.CollectionSchema{Name: "p", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: pb.Metric_L2},
		{Name: "category", Type: pb.FieldType_VARCHAR, MaxLength: 16},
		{Name: "meta", Type: pb.FieldType_JSON, Nullable: true},
		{Name: "stock", Type: pb.FieldType_INT64, DefaultValue: i64(7)},
	}}
	rs := mustRowSchema(t, s)
	text := `{"id": 1, "vector": [1, 2], "category": "shoes", "meta": {"color": "red", "size": 3, "dims": {"w": 2.5}}, "stock": 4}
{"id": 2, "vector": [3, 4], "category": "hats", "meta": [1, "two", null]}
{"id": 3, "vector": [5, 6], "category": "bags", "meta": null, "stock": null}
{"id": 4, "vector": [7, 8], "category": "bags", "meta": true}
`
	batches, err := readAll(rs, text, 100)
	if err != nil {
		t.Fatal(err)
	}
	null := &pb.Value{}
	want := &pb.Rows{
		IntIds:  []int64{1, 2, 3, 4},
		Vectors: []float32{1, 2, 3, 4, 5, 6, 7, 8},
		Fields: []*pb.FieldColumn{
			{Name: "category", Values: []*pb.Value{str("shoes"), str("hats"), str("bags"), str("bags")}},
			{Name: "meta", Values: []*pb.Value{jsonv(`{"color":"red","size":3,"dims":{"w":2.5}}`), jsonv(`[1,"two",null]`), null, jsonv("true")}},
			{Name: "stock", Values: []*pb.Value{i64(4), null, null, null}},
		},
	}
	if len(batches) != 1 || !proto.Equal(batches[0].rows, want) {
		t.Errorf("rows:\n got %v\nwant %v", batches, want)
	}
	if _, err := readAll(rs, `{"id": 5, "vector": [1, 2], "meta": {"a": }}`, 100); err == nil || !strings.Contains(err.Error(), "rows.jsonl:1: invalid JSON") {
		t.Errorf("broken JSON field: error = %v", err)
	}
}

func TestPrintDescribeDefaults(t *testing.T) {
	s := testSchema()
	s.Fields[3].DefaultValue = i64(7)
	var out bytes.Buffer
	printDescribe(&out, &pb.DescribeCollectionResponse{Schema: s})
	lines := strings.Split(out.String(), "\n")
	var header, n, meta string
	for _, l := range lines {
		switch f := strings.Fields(l); {
		case len(f) > 0 && f[0] == "FIELD":
			header = l
		case len(f) > 0 && f[0] == "n":
			n = l
		case len(f) > 0 && f[0] == "meta":
			meta = l
		}
	}
	if !strings.HasSuffix(header, "DEFAULT") || !strings.HasSuffix(n, " 7") || !strings.HasSuffix(meta, " -") {
		t.Errorf("describe with a default:\n%s", out.String())
	}
}

// TestNewCommandsCheckFlags runs the new commands up to where they would
// dial.
func TestNewCommandsCheckFlags(t *testing.T) {
	e := testEnv(io.Discard)
	tests := []struct {
		cmd     string
		args    []string
		wantErr string
	}{
		{"partition", nil, "partition: want a subcommand: create, drop or list"},
		{"partition", []string{"create", "c"}, "partition create: want NAME PARTITION"},
		{"partition", []string{"list"}, "partition list: want NAME"},
		{"index", nil, "index: want a subcommand: create, describe or drop"},
		{"index", []string{"create", "c"}, "--type is required"},
		{"index", []string{"create", "c", "--type", "hnsw", "--nlist", "5"}, "--nlist does not apply to hnsw indexes"},
		{"index", []string{"rebuild", "c"}, `unknown command "index rebuild"`},
		{"delete", []string{"c"}, "delete: give --ids 1,2,3 or --filter 'expr'"},
		{"delete", []string{"c", "--ids", "1", "--filter", "id == 1"}, "not both"},
		{"search", []string{"c", "--vector", "[1,2]", "--range-filter", "1"}, "--range-filter needs --radius"},
		{"query", []string{"c", "--limit", "-1"}, "invalid value"},
		{"query", []string{"c", "--consistency", "sometimes"}, `--consistency: "sometimes" is not a level`},
		{"compact", nil, "compact: want NAME"},
	}
	for _, tt := range tests {
		if err := e.run(tt.cmd, tt.args); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s %q: error = %v, want %q", tt.cmd, tt.args, err, tt.wantErr)
		}
	}
	for _, c := range []struct{ cmd, sub, want string }{
		{"query", "", "Usage: raftvec query NAME --filter EXPR"},
		{"search", "", "-range-filter"},
		{"delete", "", "--ids 1,2 | --filter EXPR"},
		{"index", "create", "-ef-construction"},
		{"partition", "drop", "Usage: raftvec partition drop NAME PARTITION"},
		{"insert", "", "-partition"},
		{"compact", "", "Usage: raftvec compact NAME"},
	} {
		var out bytes.Buffer
		e := testEnv(&out)
		args := []string{"-h"}
		if c.sub != "" {
			args = []string{c.sub, "-h"}
		}
		if err := e.run(c.cmd, args); err != nil {
			t.Errorf("%s %s -h: %v", c.cmd, c.sub, err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%s %s -h lacks %q:\n%s", c.cmd, c.sub, c.want, out.String())
		}
	}
	err := e.run("frobnicate", nil)
	for _, want := range []string{"compact", "query", "index create|describe|drop", "partition create|drop|list"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unknown command error lacks %q: %v", want, err)
		}
	}
}
