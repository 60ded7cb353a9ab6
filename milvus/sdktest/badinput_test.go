package sdktest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

const (
	badColl    = "badinput"        // dynamic field enabled, two shards
	strictColl = "badinput_strict" // no dynamic field, one shard
	missColl   = "badinput_no_such_collection"
	badDim     = 4
	badRows    = 10 // good rows in badColl: ids 1..10
	strictRows = 3  // good rows in strictColl: ids 1..3
	// badMaxTopK is fsm.MaxTopK, the request layer's top_k limit. It is
	// not imported: the fsm package's dependencies are not in this
	// module's go.sum.
	badMaxTopK = 16384
	// Milvus codes (merr): what the endpoint answers for bad input and for
	// a collection that does not exist.
	codeBadParam   = 1100
	codeNoSuchColl = 100
)

var badOutputFields = []string{"id", "vec", "small", "f", "name", "meta", "color"}

// badRow is one row of badColl, kept locally to check that refused
// requests leave the stored rows as they were.
type badRow struct {
	id    int64
	vec   []float32
	small int32 // Int8 field; int32 so that a bad row can hold 300
	f     float32
	name  string // VarChar max_length 8
	meta  []byte // JSON
	color string // dynamic key
}

func goodBadRow(id int64) badRow {
	return badRow{
		id:    id,
		vec:   []float32{float32(id), float32(id) / 10, 1, -float32(id)},
		small: int32(id%50) - 20, // in int8 range for every id used
		f:     float32(id) * 1.5,
		name:  fmt.Sprintf("n%d", id),
		meta:  []byte(fmt.Sprintf(`{"t":%d,"k":"v"}`, id)),
		color: colors[id%int64(len(colors))],
	}
}

// badBatch is good rows for ids, with bad applied to the last one: a
// batch whose one bad row must sink all of it. The ids 101..108 span both
// shards of badColl, so a batch applied shard by shard shows up.
func badBatch(ids []int64, bad func(*badRow)) []badRow {
	rows := make([]badRow, len(ids))
	for i, id := range ids {
		rows[i] = goodBadRow(id)
	}
	if bad != nil {
		bad(&rows[len(rows)-1])
	}
	return rows
}

func idRange(lo, hi int64) []int64 {
	var out []int64
	for id := lo; id <= hi; id++ {
		out = append(out, id)
	}
	return out
}

func scalarFD(name string, typ schemapb.DataType, sf *schemapb.ScalarField) *schemapb.FieldData {
	return &schemapb.FieldData{FieldName: name, Type: typ, Field: &schemapb.FieldData_Scalars{Scalars: sf}}
}

func longFD(name string, v []int64) *schemapb.FieldData {
	return scalarFD(name, schemapb.DataType_Int64, &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: v}}})
}

func floatVecFD(name string, dim int, flat []float32) *schemapb.FieldData {
	return &schemapb.FieldData{FieldName: name, Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{
		Dim: int64(dim), Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: flat}}}}}
}

func jsonFD(name string, v [][]byte, dynamic bool) *schemapb.FieldData {
	fd := scalarFD(name, schemapb.DataType_JSON, &schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: v}}})
	fd.IsDynamic = dynamic
	return fd
}

// badColumns is the raw insert columns of rows, as a Milvus SDK sends
// them (the dynamic keys in an is_dynamic "$meta" column). The vector
// column's dim is the first row's length.
func badColumns(rows []badRow) []*schemapb.FieldData {
	n := len(rows)
	ids, smalls, fs, names := make([]int64, n), make([]int32, n), make([]float32, n), make([]string, n)
	metas, dyn := make([][]byte, n), make([][]byte, n)
	var vecs []float32
	for i, r := range rows {
		ids[i], smalls[i], fs[i], names[i], metas[i] = r.id, r.small, r.f, r.name, r.meta
		vecs = append(vecs, r.vec...)
		dyn[i], _ = json.Marshal(map[string]string{"color": r.color})
	}
	dim := badDim
	if n > 0 {
		dim = len(rows[0].vec)
	}
	return []*schemapb.FieldData{
		longFD("id", ids),
		floatVecFD("vec", dim, vecs),
		scalarFD("small", schemapb.DataType_Int8, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: smalls}}}),
		scalarFD("f", schemapb.DataType_Float, &schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: fs}}}),
		scalarFD("name", schemapb.DataType_VarChar, &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: names}}}),
		jsonFD("meta", metas, false),
		jsonFD("$meta", dyn, true),
	}
}

// replaceFD returns cols with the column named name replaced by fd (or
// dropped if fd is nil).
func replaceFD(cols []*schemapb.FieldData, name string, fd *schemapb.FieldData) []*schemapb.FieldData {
	var out []*schemapb.FieldData
	for _, c := range cols {
		if c.GetFieldName() == name {
			if fd != nil {
				out = append(out, fd)
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// badSDKInsert is the SDK's column-based insert (or upsert) of rows into
// badColl (the Int8 values are truncated to int8: the SDK cannot carry
// 300).
func badSDKInsert(rows []badRow) interface {
	milvusclient.InsertOption
	milvusclient.UpsertOption
} {
	n := len(rows)
	ids, smalls, fs, names, colorsCol := make([]int64, n), make([]int8, n), make([]float32, n), make([]string, n), make([]string, n)
	vecs, metas := make([][]float32, n), make([][]byte, n)
	for i, r := range rows {
		ids[i], smalls[i], fs[i], names[i], colorsCol[i], vecs[i], metas[i] = r.id, int8(r.small), r.f, r.name, r.color, r.vec, r.meta
	}
	return milvusclient.NewColumnBasedInsertOption(badColl).
		WithInt64Column("id", ids).
		WithFloatVectorColumn("vec", badDim, vecs).
		WithColumns(column.NewColumnInt8("small", smalls), column.NewColumnFloat("f", fs), column.NewColumnJSONBytes("meta", metas)).
		WithVarcharColumn("name", names).
		WithVarcharColumn("color", colorsCol) // not in the schema: the dynamic field
}

func placeholder(vecs ...[]float32) []byte {
	ph := &commonpb.PlaceholderValue{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector}
	for _, v := range vecs {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		ph.Values = append(ph.Values, b)
	}
	b, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{ph}})
	if err != nil {
		panic(err)
	}
	return b
}

func kvPair(k, v string) *commonpb.KeyValuePair { return &commonpb.KeyValuePair{Key: k, Value: v} }

// rawSearchReq is a search of badColl as the Go SDK builds it, with the
// topk and metric_type given.
func rawSearchReq(topk string, metric string, q ...[]float32) *milvuspb.SearchRequest {
	params := []*commonpb.KeyValuePair{kvPair("anns_field", "vec"), kvPair("topk", topk), kvPair("metric_type", metric),
		kvPair("params", "{}"), kvPair("round_decimal", "-1"), kvPair("offset", "0")}
	return &milvuspb.SearchRequest{CollectionName: badColl, Nq: int64(len(q)), DslType: commonpb.DslType_BoolExprV1,
		SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: placeholder(q...)}, SearchParams: params,
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong}
}

// lastCall records the last RPC an SDK client made and the Milvus status
// it answered, so that an SDK error can be traced to what the server said
// (and told apart from a refusal by the SDK itself).
type lastCall struct {
	mu     sync.Mutex
	method string
	st     *commonpb.Status
	err    error
}

func (l *lastCall) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	var st *commonpb.Status
	switch r := reply.(type) {
	case *commonpb.Status:
		st = r
	case interface{ GetStatus() *commonpb.Status }:
		st = r.GetStatus()
	}
	l.mu.Lock()
	l.method, l.st, l.err = method, st, err
	l.mu.Unlock()
	return err
}

func (l *lastCall) reset() {
	l.mu.Lock()
	l.method, l.st, l.err = "", nil, nil
	l.mu.Unlock()
}

func (l *lastCall) get() (string, *commonpb.Status, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.method, l.st, l.err
}

// badClient is an SDK client and a generated client for one node, neither
// logging the failures they are expected to see.
type badClient struct {
	node string
	mc   *milvusclient.Client
	last *lastCall
	raw  milvuspb.MilvusServiceClient
}

func newBadClient(t *testing.T, c *cluster, i int) *badClient {
	t.Helper()
	b := &badClient{node: c.nodes[i].id, last: &lastCall{}}
	opts := append([]grpc.DialOption(nil), milvusclient.DefaultGrpcOpts...)
	opts = append(opts, grpc.WithChainUnaryInterceptor(b.last.intercept))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mc, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: c.nodes[i].milvusAPI, DialOptions: opts})
	if err != nil {
		t.Fatalf("milvusclient.New(%s) (node %s): %v", c.nodes[i].milvusAPI, b.node, err)
	}
	t.Cleanup(func() { mc.Close(context.Background()) })
	b.mc = mc
	cc, err := grpc.NewClient(c.nodes[i].milvusAPI, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	b.raw = milvuspb.NewMilvusServiceClient(cc)
	return b
}

// outcome is what one bad request came back with.
type outcome struct {
	via    string // "SDK" or "raw"
	node   string
	method string           // the (last) RPC on the wire
	err    error            // the SDK's error; for raw calls a transport error
	st     *commonpb.Status // the Milvus status of that RPC
}

func (o outcome) text() string {
	if o.err != nil {
		return o.err.Error()
	}
	if o.via == "SDK" {
		return ""
	}
	return o.st.GetReason()
}

func (b *badClient) sdk(f func(mc *milvusclient.Client) error) outcome {
	b.last.reset()
	err := f(b.mc)
	method, st, _ := b.last.get()
	return outcome{via: "SDK", node: b.node, method: method, err: err, st: st}
}

func rawOutcome[R interface{ GetStatus() *commonpb.Status }](b *badClient, method string, resp R, err error) outcome {
	o := outcome{via: "raw", node: b.node, method: method, err: err}
	if err == nil {
		o.st = resp.GetStatus()
	}
	return o
}

// badCase is one bad request and what its refusal must say.
type badCase struct {
	name string
	do   func(ctx context.Context, b *badClient) outcome
	// want: each entry must appear in the error text (case-insensitive);
	// "a|b" means a or b.
	want []string
	// wantRE, if set, must match the error text.
	wantRE string
	code   int32 // the Milvus code wanted
	// after runs extra checks once the request was refused.
	after func(ctx context.Context, t *testing.T)
}

// checkRefused asserts that o is a refusal naming what bc wants.
func checkRefused(t *testing.T, o outcome, bc badCase) {
	t.Helper()
	text := o.text()
	short := text
	if len(short) > 400 {
		short = short[:400] + "..."
	}
	method := o.method[strings.LastIndex(o.method, "/")+1:]
	t.Logf("%s %s via %s -> code %d, error_code %v: %s", o.via, method, o.node, o.st.GetCode(), o.st.GetErrorCode(), short)
	switch {
	case o.via == "raw" && o.err != nil:
		t.Errorf("raw %s: transport error %v instead of a Milvus status (a handler that panicked or failed outside the status)", method, o.err)
		return
	case o.via == "SDK" && o.err == nil:
		t.Errorf("ACCEPTED: the SDK call succeeded; the endpoint took the bad request (last RPC %s, status %v)", method, o.st)
	}
	if o.st == nil {
		t.Errorf("no Milvus status on the wire for %s (RPC error %v)", method, o.err)
	} else if o.st.GetCode() == 0 || o.st.GetErrorCode() == commonpb.ErrorCode_Success {
		t.Errorf("ACCEPTED or half-refused: %s answered code %d, error_code %v (the Go SDK reads code, older SDKs error_code); reason %q",
			method, o.st.GetCode(), o.st.GetErrorCode(), o.st.GetReason())
	} else if bc.code != 0 && o.st.GetCode() != bc.code {
		t.Errorf("%s answered Milvus code %d (%v), want %d: %q", method, o.st.GetCode(), o.st.GetErrorCode(), bc.code, o.st.GetReason())
	}
	lower := strings.ToLower(text)
	for _, w := range bc.want {
		found := false
		for _, alt := range strings.Split(w, "|") {
			found = found || strings.Contains(lower, strings.ToLower(alt))
		}
		if !found {
			t.Errorf("the error does not name %q: %q", w, text)
		}
	}
	if bc.wantRE != "" && !regexp.MustCompile(bc.wantRE).MatchString(text) {
		t.Errorf("the error does not match %s: %q", bc.wantRE, text)
	}
}

// badState checks what every refused request must leave alone.
type badState struct {
	mc        *milvusclient.Client // a logging client for the checks
	want      map[int64]badRow
	indexWant map[string]string
}

func (s *badState) count(ctx context.Context, coll string) (int64, error) {
	rs, err := s.mc.Query(ctx, milvusclient.NewQueryOption(coll).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		return 0, err
	}
	col := rs.GetColumn("count(*)")
	if col == nil || col.Len() != 1 {
		return 0, fmt.Errorf("no single count(*) column (%d fields)", len(rs.Fields))
	}
	return col.GetAsInt64(0)
}

func (s *badState) ids(ctx context.Context, coll, filter string) ([]int64, error) {
	rs, err := s.mc.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter(filter).WithOutputFields("id").
		WithConsistencyLevel(entity.ClStrong).WithLimit(1000))
	if err != nil {
		return nil, err
	}
	col := rs.GetColumn("id")
	var out []int64
	for k := 0; col != nil && k < col.Len(); k++ {
		id, err := col.GetAsInt64(k)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out, nil
}

// rowDiffs reads ids 1..10 with every field (Strong) and says how each
// differs from what was inserted.
func (s *badState) rowDiffs(ctx context.Context) ([]string, error) {
	rs, err := s.mc.Query(ctx, milvusclient.NewQueryOption(badColl).WithFilter(fmt.Sprintf("id <= %d", badRows)).
		WithOutputFields(badOutputFields...).WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		return nil, err
	}
	var diffs []string
	get := func(name string) column.Column {
		if c := rs.GetColumn(name); c != nil {
			return c
		}
		diffs = append(diffs, fmt.Sprintf("output field %q missing", name))
		return nil
	}
	idc, vc, sc, fc, nc, mc, cc := get("id"), get("vec"), get("small"), get("f"), get("name"), get("meta"), get("color")
	if len(diffs) > 0 {
		return diffs, nil
	}
	seen := map[int64]bool{}
	for k := 0; k < rs.ResultCount; k++ {
		id, _ := idc.GetAsInt64(k)
		w, ok := s.want[id]
		if !ok || seen[id] {
			diffs = append(diffs, fmt.Sprintf("unexpected row id %d", id))
			continue
		}
		seen[id] = true
		var got []string
		if v, _ := vc.Get(k); !reflect.DeepEqual(v, entity.FloatVector(w.vec)) {
			got = append(got, fmt.Sprintf("vec %v (want %v)", v, w.vec))
		}
		if v, err := sc.GetAsInt64(k); err != nil || v != int64(w.small) {
			got = append(got, fmt.Sprintf("small %d %v (want %d)", v, err, w.small))
		}
		if v, _ := fc.Get(k); v != any(w.f) {
			got = append(got, fmt.Sprintf("f %v (want %v)", v, w.f))
		}
		if v, err := nc.GetAsString(k); err != nil || v != w.name {
			got = append(got, fmt.Sprintf("name %q %v (want %q)", v, err, w.name))
		}
		mv, _ := mc.Get(k)
		mb, _ := mv.([]byte)
		var gm, wm any
		if json.Unmarshal(mb, &gm) != nil || json.Unmarshal(w.meta, &wm) != nil || !reflect.DeepEqual(gm, wm) {
			got = append(got, fmt.Sprintf("meta %s (want %s)", mb, w.meta))
		}
		if v, err := cc.GetAsString(k); err != nil || v != w.color {
			got = append(got, fmt.Sprintf("color %q %v (want %q)", v, err, w.color))
		}
		if len(got) > 0 {
			diffs = append(diffs, fmt.Sprintf("id %d: %s", id, strings.Join(got, ", ")))
		}
	}
	for id := range s.want {
		if !seen[id] {
			diffs = append(diffs, fmt.Sprintf("id %d is gone", id))
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// check asserts that badColl still holds exactly its 10 rows, unchanged,
// and strictColl its 3; on a difference it reports it and restores the
// rows so that the next case starts from the same state.
func (s *badState) check(ctx context.Context, t *testing.T) {
	t.Helper()
	n, err := s.count(ctx, badColl)
	if err != nil {
		t.Fatalf("count(*) of %s (Strong) after the refused request: %v", badColl, err)
	}
	if n != badRows {
		extra, err := s.ids(ctx, badColl, fmt.Sprintf("id > %d", badRows))
		t.Errorf("CHANGED DATA: count(*) of %s (Strong) is %d after the refused request, want %d; rows that should not exist: ids %v (%v)",
			badColl, n, badRows, extra, err)
		if _, err := s.mc.Delete(ctx, milvusclient.NewDeleteOption(badColl).WithExpr(fmt.Sprintf("id > %d", badRows))); err != nil {
			t.Fatalf("restoring %s: delete id > %d: %v", badColl, badRows, err)
		}
	}
	diffs, err := s.rowDiffs(ctx)
	if err != nil {
		t.Fatalf("reading rows 1..%d of %s: %v", badRows, badColl, err)
	}
	if len(diffs) > 0 {
		t.Errorf("CHANGED DATA: rows of %s differ after the refused request: %s", badColl, strings.Join(diffs, "; "))
		var rows []badRow
		for id := int64(1); id <= badRows; id++ {
			rows = append(rows, s.want[id])
		}
		if _, err := s.mc.Upsert(ctx, badSDKInsert(rows)); err != nil {
			t.Fatalf("restoring rows 1..%d of %s: %v", badRows, badColl, err)
		}
	}
	if n, err := s.count(ctx, strictColl); err != nil || n != strictRows {
		t.Errorf("count(*) of %s (Strong) is %d (%v) after the refused request, want %d", strictColl, n, err, strictRows)
	}
}

// describeIndex is the params of badColl's index, or the error.
func (s *badState) describeIndex(ctx context.Context) (map[string]string, error) {
	idx, err := s.mc.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(badColl, "vec"))
	if err != nil {
		return nil, err
	}
	return idx.Params(), nil
}

func (s *badState) indexUnchanged(ctx context.Context, t *testing.T) {
	t.Helper()
	p, err := s.describeIndex(ctx)
	if err != nil {
		t.Errorf("DescribeIndex(%s, vec) after the refused CreateIndex: %v (the HNSW index made at setup is gone)", badColl, err)
		return
	}
	if !reflect.DeepEqual(p, s.indexWant) {
		t.Errorf("DescribeIndex(%s, vec) after the refused CreateIndex: params %v, want them unchanged: %v", badColl, p, s.indexWant)
	}
}

func badSliceContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestBadInput: bad input through the Milvus endpoint, by the official SDK
// where it lets the request through and by the generated client where it
// would refuse it itself, gets an error naming the field or parameter and
// the limit, changes nothing, and crashes no node. The requests go to the
// three nodes in turn (followers forward writes to shard leaders).
func TestBadInput(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	mc := c.sdk(0)

	// badColl has two shards, so that a batch spans shards and "changes
	// nothing" is checked across them.
	schema := entity.NewSchema().WithName(badColl).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(badDim)).
		WithField(entity.NewField().WithName("small").WithDataType(entity.FieldTypeInt8)).
		WithField(entity.NewField().WithName("f").WithDataType(entity.FieldTypeFloat)).
		WithField(entity.NewField().WithName("name").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8)).
		WithField(entity.NewField().WithName("meta").WithDataType(entity.FieldTypeJSON))
	if err := mc.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(badColl, schema).WithShardNum(2)); err != nil {
		t.Fatalf("CreateCollection(%s): %v", badColl, err)
	}
	strict := entity.NewSchema().WithName(strictColl).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(badDim)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeInt64))
	if err := mc.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(strictColl, strict).WithShardNum(1)); err != nil {
		t.Fatalf("CreateCollection(%s): %v", strictColl, err)
	}
	it, err := mc.CreateIndex(ctx, milvusclient.NewCreateIndexOption(badColl, "vec", index.NewHNSWIndex(entity.L2, 16, 64)))
	if err != nil {
		t.Fatalf("CreateIndex(%s, HNSW L2): %v", badColl, err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("CreateIndex(%s) Await: %v", badColl, err)
	}
	for _, coll := range []string{badColl, strictColl} {
		lt, err := mc.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(coll))
		if err != nil {
			t.Fatalf("LoadCollection(%s): %v", coll, err)
		}
		if err := lt.Await(ctx); err != nil {
			t.Fatalf("LoadCollection(%s) Await: %v", coll, err)
		}
	}

	s := &badState{mc: mc, want: map[int64]badRow{}}
	good := badBatch(idRange(1, badRows), nil)
	for _, r := range good {
		s.want[r.id] = r
	}
	res, err := mc.Insert(ctx, badSDKInsert(good))
	if err != nil || res.InsertCount != badRows {
		t.Fatalf("Insert %d good rows into %s: count %d, %v", badRows, badColl, res.InsertCount, err)
	}
	res, err = mc.Insert(ctx, milvusclient.NewColumnBasedInsertOption(strictColl).WithInt64Column("id", []int64{1, 2, 3}).
		WithFloatVectorColumn("vec", badDim, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}).WithInt64Column("v", []int64{1, 2, 3}))
	if err != nil || res.InsertCount != strictRows {
		t.Fatalf("Insert %d good rows into %s: count %d, %v", strictRows, strictColl, res.InsertCount, err)
	}
	if s.indexWant, err = s.describeIndex(ctx); err != nil {
		t.Fatalf("DescribeIndex(%s, vec) after setup: %v", badColl, err)
	}
	s.check(ctx, t)
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("setup done in %v: %s (2 shards, 10 rows, index %v), %s (1 shard, 3 rows)",
		time.Since(start).Round(time.Millisecond), badColl, s.indexWant, strictColl)

	bcs := []*badClient{newBadClient(t, c, 0), newBadClient(t, c, 1), newBadClient(t, c, 2)}

	rawInsert := func(coll string, cols []*schemapb.FieldData, n int) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			r, err := b.raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: coll, FieldsData: cols, NumRows: uint32(n)})
			return rawOutcome(b, "Insert", r, err)
		}
	}
	rawUpsert := func(coll string, cols []*schemapb.FieldData, n int) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			r, err := b.raw.Upsert(ctx, &milvuspb.UpsertRequest{CollectionName: coll, FieldsData: cols, NumRows: uint32(n)})
			return rawOutcome(b, "Upsert", r, err)
		}
	}
	sdkInsert := func(rows []badRow) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			return b.sdk(func(mc *milvusclient.Client) error { _, err := mc.Insert(ctx, badSDKInsert(rows)); return err })
		}
	}
	rawSearch := func(req *milvuspb.SearchRequest) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			r, err := b.raw.Search(ctx, req)
			return rawOutcome(b, "Search", r, err)
		}
	}
	sdkSearch := func(filter string, param ...string) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			return b.sdk(func(mc *milvusclient.Client) error {
				o := milvusclient.NewSearchOption(badColl, 3, []entity.Vector{entity.FloatVector(goodBadRow(3).vec)}).WithANNSField("vec").
					WithFilter(filter).WithConsistencyLevel(entity.ClStrong)
				for i := 0; i+1 < len(param); i += 2 {
					o = o.WithSearchParam(param[i], param[i+1])
				}
				_, err := mc.Search(ctx, o)
				return err
			})
		}
	}
	sdkQuery := func(coll, filter string, out ...string) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			return b.sdk(func(mc *milvusclient.Client) error {
				_, err := mc.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter(filter).WithOutputFields(out...).WithConsistencyLevel(entity.ClStrong))
				return err
			})
		}
	}
	sdkCreateIndex := func(idx index.Index) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			return b.sdk(func(mc *milvusclient.Client) error {
				_, err := mc.CreateIndex(ctx, milvusclient.NewCreateIndexOption(badColl, "vec", idx))
				return err
			})
		}
	}
	rawDelete := func(coll, expr string) func(ctx context.Context, b *badClient) outcome {
		return func(ctx context.Context, b *badClient) outcome {
			r, err := b.raw.Delete(ctx, &milvuspb.DeleteRequest{CollectionName: coll, Expr: expr})
			return rawOutcome(b, "Delete", r, err)
		}
	}
	q := goodBadRow(3).vec
	newIDs := idRange(101, 108) // new rows; they land on both shards
	upIDs := idRange(1, 8)      // existing rows, which the upsert's good rows change
	changed := func(ids []int64, bad func(*badRow)) []badRow {
		rows := badBatch(ids, bad)
		for i := range rows[:len(rows)-1] {
			rows[i].small++
			rows[i].name = "upd"
			rows[i].vec[2] = 7
		}
		return rows
	}
	int8Bad := func(r *badRow) { r.small = 300 }
	longName := func(r *badRow) { r.name = "123456789" } // 9 bytes > max_length 8
	nanVec := func(r *badRow) { r.vec[1] = float32(math.NaN()) }
	badJSON := func(r *badRow) { r.meta = []byte(`{"a":`) }
	one := func(bad func(*badRow)) []*schemapb.FieldData { return badColumns(badBatch([]int64{101}, bad)) }
	dupName := func() []*schemapb.FieldData {
		cols := one(nil)
		for _, fd := range cols {
			if fd.GetFieldName() == "name" {
				return append(cols, proto.Clone(fd).(*schemapb.FieldData))
			}
		}
		panic("no name column")
	}
	strictRow := func(extra ...*schemapb.FieldData) []*schemapb.FieldData {
		return append([]*schemapb.FieldData{longFD("id", []int64{4}), floatVecFD("vec", badDim, []float32{1, 1, 1, 1}), longFD("v", []int64{4})}, extra...)
	}
	topK := fmt.Sprint(badMaxTopK)

	cases := []badCase{
		// 1. Int8 out of range (the SDK cannot carry 300 in an int8).
		{name: "01_int8_300/single_row", do: rawInsert(badColl, one(int8Bad), 1),
			want: []string{"small", "300", "127"}, code: codeBadParam},
		{name: "01_int8_300/batch_across_shards", do: rawInsert(badColl, badColumns(badBatch(newIDs, int8Bad)), len(newIDs)),
			want: []string{"small", "300", "127"}, code: codeBadParam},
		{name: "01_int8_300/upsert_of_existing_rows", do: rawUpsert(badColl, badColumns(changed(upIDs, int8Bad)), len(upIDs)),
			want: []string{"small", "300", "127"}, code: codeBadParam},
		{name: "01_int8_-129/single_row", do: rawInsert(badColl, one(func(r *badRow) { r.small = -129 }), 1),
			want: []string{"small", "-129", "-128"}, code: codeBadParam},
		// 2. VarChar longer than max_length 8 (the SDK does not check it).
		{name: "02_varchar_too_long/single_row", do: sdkInsert(badBatch([]int64{101}, longName)),
			want: []string{"name", "max_length 8"}, code: codeBadParam},
		{name: "02_varchar_too_long/batch_across_shards", do: sdkInsert(badBatch(newIDs, longName)),
			want: []string{"name", "max_length 8"}, code: codeBadParam},
		// 3. A vector of the wrong dimension. The SDK refuses dim 5 itself
		// (03_vector_dim_5/sdk_refuses_client_side below); the server must
		// too.
		{name: "03_vector_dim_5/raw_dim_5", do: rawInsert(badColl, one(func(r *badRow) { r.vec = append(r.vec, 5) }), 1),
			want: []string{"vec", "dim", "4"}, code: codeBadParam},
		{name: "03_vector_dim_5/raw_5_floats_declared_dim_4", do: rawInsert(badColl,
			replaceFD(one(nil), "vec", floatVecFD("vec", 4, []float32{1, 2, 3, 4, 5})), 1),
			want: []string{"vec", "dim"}, code: codeBadParam},
		{name: "03_vector_dim_5/raw_batch_one_float_short", do: rawInsert(badColl,
			replaceFD(badColumns(badBatch(newIDs, nil)), "vec", floatVecFD("vec", 4, make([]float32, 4*len(newIDs)-1))), len(newIDs)),
			want: []string{"vec", "dim"}, code: codeBadParam},
		// 4. NaN (and Inf) in a vector.
		{name: "04_nan_in_vector/single_row", do: sdkInsert(badBatch([]int64{101}, nanVec)),
			want: []string{"vec", "NaN"}, code: codeBadParam},
		{name: "04_nan_in_vector/batch_across_shards", do: sdkInsert(badBatch(newIDs, nanVec)),
			want: []string{"vec", "NaN"}, code: codeBadParam},
		{name: "04_inf_in_vector/raw_single_row", do: rawInsert(badColl, one(func(r *badRow) { r.vec[0] = float32(math.Inf(1)) }), 1),
			want: []string{"vec", "Inf"}, code: codeBadParam},
		// 5. A duplicate field column (the SDK refuses one itself); and
		// Float "f" as 1e39, which only a double column can carry.
		{name: "05_duplicate_name_column", do: rawInsert(badColl, dupName(), 1),
			want: []string{`"name"`, "twice"}, code: codeBadParam},
		{name: "05_float_f_1e39_as_double_data", do: rawInsert(badColl, replaceFD(one(nil), "f",
			scalarFD("f", schemapb.DataType_Double, &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: []float64{1e39}}}})), 1),
			want: []string{`"f"`, "range|type"}, code: codeBadParam},
		// 6. Unknown field columns (the SDK refuses them itself).
		{name: "06_unknown_field_nope/no_dynamic_collection", do: rawInsert(strictColl, strictRow(longFD("nope", []int64{4})), 1),
			want: []string{"nope"}, code: codeBadParam},
		{name: "06_unknown_field_nope/dynamic_column_into_no_dynamic_collection", do: rawInsert(strictColl,
			strictRow(jsonFD("$meta", [][]byte{[]byte(`{"nope":1}`)}, true)), 1),
			want: []string{"dynamic"}, code: codeBadParam},
		{name: "06_unknown_field_nope/non_dynamic_column_in_dynamic_collection", do: rawInsert(badColl,
			append(one(nil), longFD("nope", []int64{1})), 1),
			want: []string{"nope"}, code: codeBadParam},
		{name: "06_missing_column_small", do: rawInsert(badColl, replaceFD(one(nil), "small", nil), 1),
			want: []string{"small"}, code: codeBadParam},
		// 7. top_k out of range; a query vector of the wrong dim.
		{name: "07_topk_0", do: rawSearch(rawSearchReq("0", "L2", q)), want: []string{"top_k", topK}, code: codeBadParam},
		{name: "07_topk_100000", do: rawSearch(rawSearchReq("100000", "L2", q)), want: []string{"top_k", "100000", topK}, code: codeBadParam},
		{name: "07_topk_-1", do: rawSearch(rawSearchReq("-1", "L2", q)), want: []string{"top_k", topK}, code: codeBadParam},
		{name: "07_topk_not_a_number", do: rawSearch(rawSearchReq("ten", "L2", q)), want: []string{"topk", "ten"}, code: codeBadParam},
		// 2^32 + 10 would wrap to a valid 10 if narrowed to uint32.
		{name: "07_topk_wraps_uint32", do: rawSearch(rawSearchReq("4294967306", "L2", q)), want: []string{"topk", "4294967306"}, code: codeBadParam},
		{name: "07_query_vector_dim_5", do: rawSearch(rawSearchReq("5", "L2", []float32{1, 2, 3, 4, 5})), want: []string{"dim", "4"}, code: codeBadParam},
		// 8. A metric other than the collection's.
		{name: "08_search_metric_COSINE_on_L2", do: sdkSearch("", "metric_type", "COSINE"),
			want: []string{"metric_type", "COSINE", "L2", "differs"}, code: codeBadParam},
		{name: "08_search_metric_unknown", do: rawSearch(rawSearchReq("3", "HAMMING2", q)), want: []string{"metric_type", "HAMMING2"}, code: codeBadParam},
		// 9. Bad filter expressions, in query, search and delete.
		{name: "09_query_filter_age_gt", do: sdkQuery(badColl, "age >", "id"), want: []string{"position"}, wantRE: `position [0-9]+`, code: codeBadParam},
		{name: "09_query_array_contains", do: sdkQuery(badColl, `array_contains(meta["t"], 1)`, "id"),
			want: []string{"array_contains", "not supported"}, wantRE: `position 1\b`, code: codeBadParam},
		{name: "09_search_filter_age_gt", do: sdkSearch("age >"), want: []string{"position"}, wantRE: `position [0-9]+`, code: codeBadParam},
		{name: "09_delete_filter_unclosed_list", do: rawDelete(badColl, "id in [1, 2"), want: []string{"position"}, wantRE: `position [0-9]+`, code: codeBadParam},
		// 10. Index types, metrics and parameters raftvec does not take;
		// the HNSW index made at setup stays as it was.
		{name: "10_create_index_DISKANN", do: sdkCreateIndex(index.NewDiskANNIndex(entity.L2)),
			want: []string{"index_type", "DISKANN"}, code: codeBadParam, after: s.indexUnchanged},
		{name: "10_create_index_metric_COSINE_on_L2", do: sdkCreateIndex(index.NewHNSWIndex(entity.COSINE, 8, 32)),
			want: []string{"metric_type", "COSINE", "differs"}, code: codeBadParam, after: s.indexUnchanged},
		{name: "10_create_index_M_-3", do: func(ctx context.Context, b *badClient) outcome {
			st, err := b.raw.CreateIndex(ctx, &milvuspb.CreateIndexRequest{CollectionName: badColl, FieldName: "vec",
				ExtraParams: []*commonpb.KeyValuePair{kvPair("index_type", "HNSW"), kvPair("metric_type", "L2"), kvPair("M", "-3")}})
			return outcome{via: "raw", node: b.node, method: "CreateIndex", err: err, st: st}
		}, want: []string{"-3"}, wantRE: `\bM\b`, code: codeBadParam, after: s.indexUnchanged},
		// 11. Delete without a filter.
		{name: "11_delete_empty_expr", do: rawDelete(badColl, ""), want: []string{"expr"}, code: codeBadParam},
		// 12. count(*) with another output field; an unknown output field.
		{name: "12_query_count_star_with_small", do: sdkQuery(badColl, "", "count(*)", "small"), want: []string{"count(*)"}, code: codeBadParam},
		{name: "12_query_output_field_nope_no_dynamic", do: sdkQuery(strictColl, "id > 0", "nope"), want: []string{"nope"}, code: codeBadParam},
		// 13. A collection that does not exist.
		{name: "13_no_such_collection/sdk_query", do: sdkQuery(missColl, "id > 0", "id"), want: []string{missColl}, code: codeNoSuchColl},
		{name: "13_no_such_collection/raw_insert", do: rawInsert(missColl, one(nil), 1), want: []string{missColl}, code: codeNoSuchColl},
		{name: "13_no_such_collection/raw_search", do: func(ctx context.Context, b *badClient) outcome {
			req := rawSearchReq("3", "L2", q)
			req.CollectionName = missColl
			r, err := b.raw.Search(ctx, req)
			return rawOutcome(b, "Search", r, err)
		}, want: []string{missColl}, code: codeNoSuchColl},
		{name: "13_no_such_collection/raw_delete", do: rawDelete(missColl, "id > 0"), want: []string{missColl}, code: codeNoSuchColl},
		// 14. JSON that is not JSON; a dynamic value that is not an object.
		{name: "14_meta_not_json/single_row", do: rawInsert(badColl, one(badJSON), 1),
			want: []string{"meta", "JSON"}, code: codeBadParam},
		{name: "14_meta_not_json/batch_across_shards", do: rawInsert(badColl, badColumns(badBatch(newIDs, badJSON)), len(newIDs)),
			want: []string{"meta", "JSON"}, code: codeBadParam},
		{name: "14_dynamic_not_an_object", do: rawInsert(badColl, replaceFD(one(nil), "$meta", jsonFD("$meta", [][]byte{[]byte(`[1,2]`)}, true)), 1),
			want: []string{"$meta|dynamic", "object"}, code: codeBadParam},
		// 15. Malformed shapes: no panic, a status naming what is wrong.
		{name: "15_shape_values_fewer_than_num_rows", do: rawInsert(badColl, one(nil), 3), want: []string{"rows"}, code: codeBadParam},
		{name: "15_shape_empty_field_data", do: rawInsert(badColl, append(one(nil), &schemapb.FieldData{}), 1),
			want: []string{"field"}, code: codeBadParam},
		{name: "15_shape_small_without_data", do: rawInsert(badColl, replaceFD(one(nil), "small",
			&schemapb.FieldData{FieldName: "small", Type: schemapb.DataType_Int8}), 1),
			want: []string{"small"}, code: codeBadParam},
		{name: "15_shape_no_pk_column", do: rawInsert(badColl, replaceFD(one(nil), "id", nil), 1),
			want: []string{`"id"|primary key`}, code: codeBadParam},
		{name: "15_shape_placeholder_garbage", do: func(ctx context.Context, b *badClient) outcome {
			req := rawSearchReq("3", "L2", q)
			req.SearchInput = &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: []byte{0xff, 0xff, 0xff}}
			r, err := b.raw.Search(ctx, req)
			return rawOutcome(b, "Search", r, err)
		}, want: []string{"placeholder_group"}, code: codeBadParam},
		{name: "15_shape_search_no_vectors", do: rawSearch(rawSearchReq("3", "L2")), want: []string{"placeholder_group|vector"}, code: codeBadParam},
	}

	for i, bc := range cases {
		b := bcs[i%len(bcs)]
		t.Run(bc.name, func(t *testing.T) {
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			defer ccancel()
			checkRefused(t, bc.do(cctx, b), bc)
			for _, n := range c.nodes {
				if n.exited() {
					t.Fatalf("CRASH: node %s exited after this request (%v); last lines of its log:\n%s", n.id, n.waitErr, tail(n.logPath, 40))
				}
			}
			if bc.after != nil {
				bc.after(cctx, t)
			}
			s.check(cctx, t)
		})
	}

	// The SDK refuses a dim-5 vector itself; the server's refusal is
	// checked above (03_vector_dim_5/raw_*).
	t.Run("03_vector_dim_5/sdk_refuses_client_side", func(t *testing.T) {
		o := bcs[0].sdk(func(mc *milvusclient.Client) error {
			_, err := mc.Insert(ctx, milvusclient.NewColumnBasedInsertOption(badColl).WithInt64Column("id", []int64{101}).
				WithFloatVectorColumn("vec", 5, [][]float32{{1, 2, 3, 4, 5}}).WithColumns(column.NewColumnInt8("small", []int8{1}),
				column.NewColumnFloat("f", []float32{1}), column.NewColumnJSONBytes("meta", [][]byte{[]byte(`{}`)})).
				WithVarcharColumn("name", []string{"x"}))
			return err
		})
		if o.err == nil {
			t.Fatalf("ACCEPTED: SDK Insert of a dim-5 vector into the dim-4 field succeeded")
		}
		if strings.HasSuffix(o.method, "/Insert") {
			checkRefused(t, o, badCase{want: []string{"vec", "dim"}, code: codeBadParam})
		} else {
			t.Logf("the SDK refused it before sending (last RPC %s): %v", o.method, o.err)
		}
		s.check(ctx, t)
	})

	t.Run("13_no_such_collection/not_created_by_the_requests", func(t *testing.T) {
		for _, b := range bcs {
			has, err := b.mc.HasCollection(ctx, milvusclient.NewHasCollectionOption(missColl))
			if err != nil || has {
				t.Errorf("HasCollection(%s) via %s = %v, %v; want false, nil", missColl, b.node, has, err)
			}
		}
	})

	// No node crashed: each process is up and its Milvus endpoint answers.
	t.Run("nodes_still_answer", func(t *testing.T) {
		for i, n := range c.nodes {
			if n.exited() {
				t.Errorf("CRASH: node %s exited (%v); last lines of its log:\n%s", n.id, n.waitErr, tail(n.logPath, 40))
				continue
			}
			lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
			names, err := bcs[i].mc.ListCollections(lctx, milvusclient.NewListCollectionOption())
			lcancel()
			if err != nil {
				t.Errorf("ListCollections on %s (%s) after the bad requests: %v", n.id, n.milvusAPI, err)
				continue
			}
			sort.Strings(names)
			if !badSliceContains(names, badColl) || !badSliceContains(names, strictColl) || badSliceContains(names, missColl) {
				t.Errorf("ListCollections on %s = %v; want %s and %s, not %s", n.id, names, badColl, strictColl, missColl)
			}
		}
	})
	t.Logf("%d cases in %v", len(cases), time.Since(start).Round(time.Millisecond))
}
