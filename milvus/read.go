package milvus

import (
	"context"
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// countStar is the output field that asks a query for its row count.
const countStar = "count(*)"

// queryPage is how many rows one count(*) page reads.
const queryPage = 16384

// searchParams are the parts of a Milvus search_params list raftvec uses.
type searchParams struct {
	annsField string
	topK      int
	offset    int
	metric    string
	round     int
	ef        int
	nprobe    int
	radius    *float32
	rangeF    *float32
}

func parseSearchParams(kvs []*commonpb.KeyValuePair) (searchParams, error) {
	p := searchParams{round: -1}
	num := func(key, v string) (int, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return 0, invalidf("search_params.%s: %q is not a 32-bit integer", key, v)
		}
		return int(n), nil
	}
	var err error
	for _, kv := range kvs {
		switch kv.GetKey() {
		case "anns_field":
			p.annsField = kv.GetValue()
		case "topk", "limit":
			p.topK, err = num(kv.GetKey(), kv.GetValue())
		case "offset":
			p.offset, err = num("offset", kv.GetValue())
		case "round_decimal":
			p.round, err = num("round_decimal", kv.GetValue())
		case metricKey:
			p.metric = kv.GetValue()
		case "params", "search_param":
			err = p.annParams(kv.GetValue())
		case "group_by_field":
			if kv.GetValue() != "" {
				return p, unsupported("search_params.group_by_field")
			}
		}
		if err != nil {
			return p, err
		}
	}
	if p.offset < 0 {
		return p, invalidf("search_params.offset (%d) must not be negative", p.offset)
	}
	return p, nil
}

// annParams reads the "params" JSON: ef, nprobe, radius, range_filter.
func (p *searchParams) annParams(text string) error {
	m, err := jsonParams(text)
	if err != nil {
		return err
	}
	for k, v := range m {
		switch k {
		case "ef", "nprobe":
			n, err := v.Int64()
			if err != nil || n < 0 || n > math.MaxInt32 {
				return invalidf("search_params.params.%s: %q must be a non-negative integer", k, v)
			}
			if k == "ef" {
				p.ef = int(n)
			} else {
				p.nprobe = int(n)
			}
		case "radius", "range_filter":
			f, err := v.Float64()
			if err != nil {
				return invalidf("search_params.params.%s: %q is not a number", k, v)
			}
			f32 := float32(f)
			if k == "radius" {
				p.radius = &f32
			} else {
				p.rangeF = &f32
			}
		}
	}
	return nil
}

// queryVectors decodes the placeholder group: nq float vectors.
func queryVectors(b []byte, dim int) ([]float32, int, error) {
	var g commonpb.PlaceholderGroup
	if err := proto.Unmarshal(b, &g); err != nil {
		return nil, 0, invalidf("placeholder_group: not a serialized PlaceholderGroup: %v", err)
	}
	if len(g.Placeholders) != 1 {
		return nil, 0, invalidf("placeholder_group: %d placeholders; want 1", len(g.Placeholders))
	}
	ph := g.Placeholders[0]
	if ph.Type != commonpb.PlaceholderType_FloatVector {
		return nil, 0, unsupported("search vectors of type " + ph.Type.String())
	}
	out := make([]float32, 0, len(ph.Values)*dim)
	for i, v := range ph.Values {
		if len(v) != 4*dim {
			return nil, 0, invalidf("placeholder_group: query vector %d has %d bytes; want dim %d × 4", i, len(v), dim)
		}
		for j := 0; j < dim; j++ {
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(v[4*j:])))
		}
	}
	return out, len(ph.Values), nil
}

func (s *Server) Search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	res, err := s.search(ctx, req)
	if err != nil {
		return &milvuspb.SearchResults{Status: statusOf(err)}, nil
	}
	return res, nil
}

func (s *Server) search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	if len(req.GetSubReqs()) > 0 || req.GetFunctionScore() != nil {
		return nil, unsupported("hybrid search and function scores")
	}
	if len(req.GetExprTemplateValues()) > 0 {
		return nil, unsupported("expr_template_values")
	}
	if req.GetSearchByPrimaryKeys() {
		return nil, unsupported("search by primary keys")
	}
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	p, err := parseSearchParams(req.GetSearchParams())
	if err != nil {
		return nil, err
	}
	if p.annsField != "" && p.annsField != c.vector.Name {
		return nil, invalidf("search_params.anns_field: %q is not the collection's vector field %q", p.annsField, c.vector.Name)
	}
	if err := checkMetric(c, p.metric, "search_params.metric_type"); err != nil {
		return nil, err
	}
	vecs, nq, err := queryVectors(req.GetPlaceholderGroup(), int(c.vector.Dim))
	if err != nil {
		return nil, err
	}
	if nq == 0 {
		return nil, invalidf("placeholder_group: no query vectors")
	}
	fields, wantVector, err := outputFields(c, req.GetOutputFields())
	if err != nil {
		return nil, err
	}
	fetch := fields
	if wantVector {
		fetch = append(append([]string{}, fields...), c.vector.Name)
	}
	sr := &pb.SearchRequest{Collection: c.schema.Name, Vectors: vecs, TopK: saturate(p.topK), OutputFields: fetch,
		Read: s.readOptions(ctx, readRequest{level: req.GetConsistencyLevel(), useDefault: req.GetUseDefaultConsistency(),
			guarantee: req.GetGuaranteeTimestamp(), travel: req.GetTravelTimestamp()}, levelFromRaftvec(c.schema.DefaultConsistency)),
		Ef: uint32(p.ef), Nprobe: uint32(p.nprobe), Filter: req.GetDsl(), PartitionNames: req.GetPartitionNames(),
		Offset: saturate(p.offset), Radius: p.radius, RangeFilter: p.rangeF}
	r, err := s.api.Search(ctx, sr)
	if err != nil {
		return nil, err
	}
	s.sessions.observe(identifierOf(ctx), r.Ts)
	varchar := c.pk.Type == pb.FieldType_VARCHAR
	// The primary key is always among the output fields: the Node SDK
	// builds each hit from the columns output_fields names.
	data := &schemapb.SearchResultData{NumQueries: int64(nq), TopK: int64(p.topK), OutputFields: withPK(c.pk.Name, req.GetOutputFields()),
		PrimaryFieldName: c.pk.Name}
	var ints []int64
	var strs []string
	cols := make([][]*pb.Value, len(fields))
	var vectors []float32
	for _, hl := range r.Results {
		data.Topks = append(data.Topks, int64(len(hl.Hits)))
		for _, h := range hl.Hits {
			ints, strs = append(ints, h.IntId), append(strs, h.StrId)
			data.Scores = append(data.Scores, round(h.Score, p.round))
			for i := range fields {
				var v *pb.Value
				if i < len(h.Fields) {
					v = h.Fields[i]
				}
				cols[i] = append(cols[i], v)
			}
			if wantVector {
				vectors = append(vectors, decodeVector(h.Vector)...)
			}
		}
	}
	for len(data.Topks) < nq {
		data.Topks = append(data.Topks, 0)
	}
	data.Ids = idsOf(ints, strs, varchar)
	data.FieldsData = append(data.FieldsData, pkColumn(c, ints, strs))
	for i, name := range fields {
		data.FieldsData = append(data.FieldsData, scalarColumn(c, c.byName[name], cols[i]))
	}
	if wantVector {
		data.FieldsData = append(data.FieldsData, vectorColumn(c, vectors))
	}
	return &milvuspb.SearchResults{Status: success(), Results: data, CollectionName: c.schema.Name, SessionTs: r.Ts}, nil
}

// saturate converts a count from a Milvus parameter for the request layer,
// which checks it against its limits: out of uint32's range it becomes the
// nearest end (0 or the largest) rather than wrapping to a number that
// would pass.
func saturate(n int) uint32 { return uint32(min(max(n, 0), math.MaxUint32)) }

// withPK is names with the primary key first, once.
func withPK(pk string, names []string) []string {
	if contains(names, pk) {
		return names
	}
	return append([]string{pk}, names...)
}

func round(x float32, decimals int) float32 {
	if decimals < 0 {
		return x
	}
	p := math.Pow10(decimals)
	return float32(math.Round(float64(x)*p) / p)
}

// checkMetric accepts a metric named at search or index time only if it is
// the collection's (raftvec fixes the metric when the collection is made).
func checkMetric(c *collection, name, field string) error {
	if strings.TrimSpace(name) == "" {
		return nil
	}
	m, ok := metricFromName(name)
	if !ok {
		return invalidf("%s: %q must be one of L2, IP, COSINE", field, name)
	}
	if m != c.vector.Metric {
		return invalidf("%s: %s differs from collection %q's metric %s, which raftvec fixes at creation (give the collection property metric_type=%s, or create the index before inserting)",
			field, m, c.schema.Name, c.vector.Metric, m)
	}
	return nil
}

func (s *Server) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	res, err := s.query(ctx, req)
	if err != nil {
		return &milvuspb.QueryResults{Status: statusOf(err)}, nil
	}
	return res, nil
}

func (s *Server) query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	if len(req.GetExprTemplateValues()) > 0 {
		return nil, unsupported("expr_template_values")
	}
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	var limit, offset int
	for _, kv := range req.GetQueryParams() {
		var err error
		switch kv.GetKey() {
		case "limit":
			limit, err = strconv.Atoi(kv.GetValue())
		case "offset":
			offset, err = strconv.Atoi(kv.GetValue())
		}
		if err != nil || limit < 0 || offset < 0 {
			return nil, invalidf("query_params.%s: %q must be a non-negative integer", kv.GetKey(), kv.GetValue())
		}
	}
	read := s.readOptions(ctx, readRequest{level: req.GetConsistencyLevel(), useDefault: req.GetUseDefaultConsistency(),
		guarantee: req.GetGuaranteeTimestamp(), travel: req.GetTravelTimestamp()}, levelFromRaftvec(c.schema.DefaultConsistency))
	out := req.GetOutputFields()
	if len(out) == 1 && strings.EqualFold(strings.ReplaceAll(out[0], " ", ""), countStar) {
		return s.count(ctx, c, req, read)
	}
	for _, f := range out {
		if strings.Contains(f, "(") {
			return nil, unsupported("output field " + strconv.Quote(f) + " (only count(*) alone)")
		}
	}
	fields, wantVector, err := outputFields(c, out)
	if err != nil {
		return nil, err
	}
	fetch := fields
	if wantVector {
		fetch = append(append([]string{}, fields...), c.vector.Name)
	}
	r, err := s.api.Query(ctx, &pb.QueryRequest{Collection: c.schema.Name, Filter: req.GetExpr(), OutputFields: fetch,
		Limit: saturate(limit), Offset: saturate(offset), Read: read, PartitionNames: req.GetPartitionNames()})
	if err != nil {
		return nil, err
	}
	s.sessions.observe(identifierOf(ctx), r.Ts)
	rows := r.GetRows()
	res := &milvuspb.QueryResults{Status: success(), CollectionName: c.schema.Name, SessionTs: r.Ts, PrimaryFieldName: c.pk.Name,
		OutputFields: withPK(c.pk.Name, out)}
	res.FieldsData = append(res.FieldsData, pkColumn(c, rows.GetIntIds(), rows.GetStrIds()))
	for _, col := range rows.GetFields() {
		if f := c.byName[col.Name]; f != nil && contains(fields, col.Name) {
			res.FieldsData = append(res.FieldsData, scalarColumn(c, f, col.Values))
		}
	}
	if wantVector {
		res.FieldsData = append(res.FieldsData, vectorColumn(c, rows.GetVectors()))
	}
	return res, nil
}

// count answers count(*) as one Int64 column.
func (s *Server) count(ctx context.Context, c *collection, req *milvuspb.QueryRequest, read *pb.ReadOptions) (*milvuspb.QueryResults, error) {
	n, ts, err := s.countMatching(ctx, c.schema.Name, req.GetExpr(), req.GetPartitionNames(), read)
	if err != nil {
		return nil, err
	}
	s.sessions.observe(identifierOf(ctx), ts)
	col := &schemapb.FieldData{FieldName: countStar, Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{
		Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{n}}}}}}
	return &milvuspb.QueryResults{Status: success(), CollectionName: c.schema.Name, FieldsData: []*schemapb.FieldData{col},
		OutputFields: []string{countStar}, SessionTs: ts}, nil
}

// countMatching counts the rows matching filter, reading page by page as
// of the first page's ts, so that the pages form one consistent cut.
func (s *Server) countMatching(ctx context.Context, coll, filter string, parts []string, read *pb.ReadOptions) (n int64, ts uint64, err error) {
	for page := 0; ; page++ {
		r, err := s.api.Query(ctx, &pb.QueryRequest{Collection: coll, Filter: filter, Limit: queryPage,
			Offset: uint32(page * queryPage), Read: read, PartitionNames: parts})
		if err != nil {
			return 0, 0, err
		}
		got := len(r.GetRows().GetIntIds()) + len(r.GetRows().GetStrIds())
		n += int64(got)
		if page == 0 {
			ts = r.Ts
			read = &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL, AsOfTs: ts}
		}
		if got < queryPage {
			return n, ts, nil
		}
	}
}
