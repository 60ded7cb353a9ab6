package milvus

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// firstFieldID is Milvus's first user field id (0–99 are system fields).
const firstFieldID = 100

// dynamicField is the hidden JSON field of a collection with
// enable_dynamic_field.
const dynamicField = "$meta"

// metricKey names the metric in Milvus parameter lists.
const metricKey = "metric_type"

var typeToRaftvec = map[schemapb.DataType]pb.FieldType{
	schemapb.DataType_Bool:        pb.FieldType_BOOL,
	schemapb.DataType_Int8:        pb.FieldType_INT8,
	schemapb.DataType_Int16:       pb.FieldType_INT16,
	schemapb.DataType_Int32:       pb.FieldType_INT32,
	schemapb.DataType_Int64:       pb.FieldType_INT64,
	schemapb.DataType_Float:       pb.FieldType_FLOAT,
	schemapb.DataType_Double:      pb.FieldType_DOUBLE,
	schemapb.DataType_VarChar:     pb.FieldType_VARCHAR,
	schemapb.DataType_String:      pb.FieldType_VARCHAR,
	schemapb.DataType_JSON:        pb.FieldType_JSON,
	schemapb.DataType_FloatVector: pb.FieldType_FLOAT_VECTOR,
}

var typeFromRaftvec = map[pb.FieldType]schemapb.DataType{
	pb.FieldType_BOOL:         schemapb.DataType_Bool,
	pb.FieldType_INT8:         schemapb.DataType_Int8,
	pb.FieldType_INT16:        schemapb.DataType_Int16,
	pb.FieldType_INT32:        schemapb.DataType_Int32,
	pb.FieldType_INT64:        schemapb.DataType_Int64,
	pb.FieldType_FLOAT:        schemapb.DataType_Float,
	pb.FieldType_DOUBLE:       schemapb.DataType_Double,
	pb.FieldType_VARCHAR:      schemapb.DataType_VarChar,
	pb.FieldType_JSON:         schemapb.DataType_JSON,
	pb.FieldType_FLOAT_VECTOR: schemapb.DataType_FloatVector,
}

func metricFromName(name string) (pb.Metric, bool) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "L2":
		return pb.Metric_L2, true
	case "IP":
		return pb.Metric_IP, true
	case "COSINE":
		return pb.Metric_COSINE, true
	}
	return pb.Metric_METRIC_UNSPECIFIED, false
}

func kv(pairs []*commonpb.KeyValuePair, key string) (string, bool) {
	for _, p := range pairs {
		if p.GetKey() == key {
			return p.GetValue(), true
		}
	}
	return "", false
}

func pair(k, v string) *commonpb.KeyValuePair { return &commonpb.KeyValuePair{Key: k, Value: v} }

// schemaToRaftvec converts a CreateCollection request's schema. The
// metric, which Milvus names at CreateIndex and raftvec fixes per
// collection, comes from a "metric_type" collection property or type
// parameter of the vector field, else L2; CreateIndex may change it while
// the collection is empty (see ensureMetric).
func schemaToRaftvec(req *milvuspb.CreateCollectionRequest) (*pb.CollectionSchema, error) {
	var ms schemapb.CollectionSchema
	if err := proto.Unmarshal(req.GetSchema(), &ms); err != nil {
		return nil, invalidf("schema: not a serialized CollectionSchema: %v", err)
	}
	name := req.GetCollectionName()
	if name == "" {
		name = ms.GetName()
	}
	out := &pb.CollectionSchema{Name: name, Description: ms.GetDescription(),
		DefaultConsistency: levelToRaftvec(req.GetConsistencyLevel())}
	metric := pb.Metric_L2
	if m, ok := kv(req.GetProperties(), metricKey); ok {
		var valid bool
		if metric, valid = metricFromName(m); !valid {
			return nil, invalidf("properties.metric_type: %q must be one of L2, IP, COSINE", m)
		}
	}
	for _, f := range ms.GetFields() {
		if f.GetIsDynamic() {
			continue // added below
		}
		t, ok := typeToRaftvec[f.GetDataType()]
		if !ok {
			return nil, unsupported("field " + strconv.Quote(f.GetName()) + " of type " + f.GetDataType().String())
		}
		if f.GetIsPartitionKey() || f.GetIsClusteringKey() || f.GetIsFunctionOutput() {
			return nil, unsupported("field " + strconv.Quote(f.GetName()) + ": partition keys, clustering keys and function outputs")
		}
		fs := &pb.FieldSchema{Name: f.GetName(), Type: t, PrimaryKey: f.GetIsPrimaryKey(), AutoId: f.GetAutoID() || (f.GetIsPrimaryKey() && ms.GetAutoID()),
			Nullable: f.GetNullable()}
		params := append(append([]*commonpb.KeyValuePair{}, f.GetTypeParams()...), f.GetIndexParams()...)
		if v, ok := kv(params, "dim"); ok {
			d, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, invalidf("field %q: dim %q is not a number", f.GetName(), v)
			}
			fs.Dim = uint32(d)
		}
		if v, ok := kv(params, "max_length"); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, invalidf("field %q: max_length %q is not a number", f.GetName(), v)
			}
			fs.MaxLength = uint32(n)
		}
		if t == pb.FieldType_FLOAT_VECTOR {
			fs.Metric = metric
			if v, ok := kv(params, metricKey); ok {
				m, valid := metricFromName(v)
				if !valid {
					return nil, invalidf("field %q: metric_type %q must be one of L2, IP, COSINE", f.GetName(), v)
				}
				fs.Metric = m
			}
		}
		if dv := f.GetDefaultValue(); dv != nil {
			v, err := defaultValue(f.GetName(), dv)
			if err != nil {
				return nil, err
			}
			fs.DefaultValue = v
		}
		out.Fields = append(out.Fields, fs)
	}
	if ms.GetEnableDynamicField() {
		out.Fields = append(out.Fields, &pb.FieldSchema{Name: dynamicField, Type: pb.FieldType_JSON, Nullable: true, Dynamic: true})
	}
	return out, nil
}

func defaultValue(field string, v *schemapb.ValueField) (*pb.Value, error) {
	switch d := v.GetData().(type) {
	case *schemapb.ValueField_BoolData:
		return &pb.Value{Kind: &pb.Value_Bool{Bool: d.BoolData}}, nil
	case *schemapb.ValueField_IntData:
		return &pb.Value{Kind: &pb.Value_Int64{Int64: int64(d.IntData)}}, nil
	case *schemapb.ValueField_LongData:
		return &pb.Value{Kind: &pb.Value_Int64{Int64: d.LongData}}, nil
	case *schemapb.ValueField_FloatData:
		return &pb.Value{Kind: &pb.Value_Double{Double: float64(d.FloatData)}}, nil
	case *schemapb.ValueField_DoubleData:
		return &pb.Value{Kind: &pb.Value_Double{Double: d.DoubleData}}, nil
	case *schemapb.ValueField_StringData:
		return &pb.Value{Kind: &pb.Value_Varchar{Varchar: d.StringData}}, nil
	}
	return nil, unsupported("default value of field " + strconv.Quote(field) + " of this type")
}

func defaultToMilvus(v *pb.Value, t pb.FieldType) *schemapb.ValueField {
	switch k := v.GetKind().(type) {
	case *pb.Value_Bool:
		return &schemapb.ValueField{Data: &schemapb.ValueField_BoolData{BoolData: k.Bool}}
	case *pb.Value_Int64:
		if t == pb.FieldType_INT64 {
			return &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: k.Int64}}
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_IntData{IntData: int32(k.Int64)}}
	case *pb.Value_Double:
		if t == pb.FieldType_FLOAT {
			return &schemapb.ValueField{Data: &schemapb.ValueField_FloatData{FloatData: float32(k.Double)}}
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_DoubleData{DoubleData: k.Double}}
	case *pb.Value_Varchar:
		return &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: k.Varchar}}
	}
	return nil
}

// collection is a raftvec collection as the adapter needs it.
type collection struct {
	desc    *pb.DescribeCollectionResponse
	schema  *pb.CollectionSchema
	pk      *pb.FieldSchema
	vector  *pb.FieldSchema
	dynamic bool
	byName  map[string]*pb.FieldSchema
	ids     map[string]int64 // Milvus field ids
}

// id is the collection's Milvus id: its first shard's id, unique in the
// cluster and fixed for the collection's life.
func (c *collection) id() int64 {
	if len(c.desc.Shards) == 0 {
		return 0
	}
	return int64(c.desc.Shards[0].Id)
}

func (s *Server) describe(ctx context.Context, name string) (*collection, error) {
	d, err := s.api.DescribeCollection(ctx, &pb.DescribeCollectionRequest{Name: name})
	if err != nil {
		return nil, err
	}
	c := &collection{desc: d, schema: d.Schema, byName: map[string]*pb.FieldSchema{}, ids: map[string]int64{}}
	for i, f := range d.Schema.GetFields() {
		c.byName[f.Name] = f
		c.ids[f.Name] = firstFieldID + int64(i)
		switch {
		case f.PrimaryKey:
			c.pk = f
		case f.Type == pb.FieldType_FLOAT_VECTOR:
			c.vector = f
		case f.Dynamic:
			c.dynamic = true
		}
	}
	return c, nil
}

// milvusSchema is the collection's schema as Milvus SDKs expect it: field
// ids from 100, type parameters as strings, the dynamic field hidden
// behind enable_dynamic_field.
func (c *collection) milvusSchema() *schemapb.CollectionSchema {
	out := &schemapb.CollectionSchema{Name: c.schema.Name, Description: c.schema.Description, EnableDynamicField: c.dynamic}
	for _, f := range c.schema.Fields {
		if f.Dynamic {
			continue
		}
		mf := &schemapb.FieldSchema{FieldID: c.ids[f.Name], Name: f.Name, IsPrimaryKey: f.PrimaryKey, AutoID: f.AutoId,
			DataType: typeFromRaftvec[f.Type], Nullable: f.Nullable}
		if f.Dim > 0 {
			mf.TypeParams = append(mf.TypeParams, pair("dim", strconv.Itoa(int(f.Dim))))
		}
		if f.Type == pb.FieldType_VARCHAR {
			mf.TypeParams = append(mf.TypeParams, pair("max_length", strconv.Itoa(int(f.MaxLength))))
		}
		if f.DefaultValue != nil {
			mf.DefaultValue = defaultToMilvus(f.DefaultValue, f.Type)
		}
		out.Fields = append(out.Fields, mf)
		if f.PrimaryKey && f.AutoId {
			out.AutoID = true
		}
	}
	return out
}

func (s *Server) CreateCollection(ctx context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	sc, err := schemaToRaftvec(req)
	if err != nil {
		return statusOf(err), nil
	}
	shards := req.GetShardsNum()
	if shards < 0 {
		return statusOf(invalidf("shards_num (%d) must not be negative", shards)), nil
	}
	_, err = s.api.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: sc, Shards: uint32(shards)})
	return statusOf(err), nil
}

func (s *Server) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	_, err := s.api.DropCollection(ctx, &pb.DropCollectionRequest{Name: req.GetCollectionName()})
	return statusOf(err), nil
}

func (s *Server) HasCollection(ctx context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	names, err := s.api.ListCollections(ctx, &pb.ListCollectionsRequest{})
	if err != nil {
		return &milvuspb.BoolResponse{Status: statusOf(err)}, nil
	}
	for _, n := range names.Names {
		if n == req.GetCollectionName() {
			return &milvuspb.BoolResponse{Status: success(), Value: true}, nil
		}
	}
	return &milvuspb.BoolResponse{Status: success()}, nil
}

func (s *Server) ShowCollections(ctx context.Context, req *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	names, err := s.api.ListCollections(ctx, &pb.ListCollectionsRequest{})
	if err != nil {
		return &milvuspb.ShowCollectionsResponse{Status: statusOf(err)}, nil
	}
	out := &milvuspb.ShowCollectionsResponse{Status: success()}
	for _, n := range names.Names {
		if len(req.GetCollectionNames()) > 0 && !contains(req.GetCollectionNames(), n) {
			continue
		}
		c, err := s.describe(ctx, n)
		if err != nil {
			continue // dropped meanwhile
		}
		out.CollectionNames = append(out.CollectionNames, n)
		out.CollectionIds = append(out.CollectionIds, c.id())
		out.CreatedTimestamps = append(out.CreatedTimestamps, 0)
		out.CreatedUtcTimestamps = append(out.CreatedUtcTimestamps, 0)
		out.InMemoryPercentages = append(out.InMemoryPercentages, 100)
		out.QueryServiceAvailable = append(out.QueryServiceAvailable, true)
		out.ShardsNum = append(out.ShardsNum, int32(len(c.desc.Shards)))
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *Server) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return &milvuspb.DescribeCollectionResponse{Status: statusOf(err)}, nil
	}
	out := &milvuspb.DescribeCollectionResponse{
		Status: success(), Schema: c.milvusSchema(), CollectionID: c.id(), CollectionName: c.schema.Name,
		ShardsNum: int32(len(c.desc.Shards)), ConsistencyLevel: levelFromRaftvec(c.schema.DefaultConsistency),
		DbName: "default", NumPartitions: 1,
		// Insert echoes this as schema_timestamp; raftvec schemas do not
		// change after creation, so any fixed value per collection works.
		UpdateTimestamp: uint64(c.id()),
	}
	out.UpdateTimestampStr = strconv.FormatUint(out.UpdateTimestamp, 10)
	if c.vector != nil {
		out.Properties = append(out.Properties, pair(metricKey, c.vector.Metric.String()))
	}
	for _, sh := range c.desc.Shards {
		out.VirtualChannelNames = append(out.VirtualChannelNames, "shard-"+strconv.FormatUint(sh.Id, 10))
	}
	return out, nil
}

func (s *Server) GetCollectionStatistics(ctx context.Context, req *milvuspb.GetCollectionStatisticsRequest) (*milvuspb.GetCollectionStatisticsResponse, error) {
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return &milvuspb.GetCollectionStatisticsResponse{Status: statusOf(err)}, nil
	}
	return &milvuspb.GetCollectionStatisticsResponse{Status: success(),
		Stats: []*commonpb.KeyValuePair{pair("row_count", strconv.FormatUint(c.desc.Rows, 10))}}, nil
}

// --- partitions ---

func (s *Server) CreatePartition(ctx context.Context, req *milvuspb.CreatePartitionRequest) (*commonpb.Status, error) {
	_, err := s.api.CreatePartition(ctx, &pb.PartitionRequest{Collection: req.GetCollectionName(), PartitionName: req.GetPartitionName()})
	return statusOf(err), nil
}

func (s *Server) DropPartition(ctx context.Context, req *milvuspb.DropPartitionRequest) (*commonpb.Status, error) {
	_, err := s.api.DropPartition(ctx, &pb.PartitionRequest{Collection: req.GetCollectionName(), PartitionName: req.GetPartitionName()})
	return statusOf(err), nil
}

func (s *Server) HasPartition(ctx context.Context, req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
	ps, err := s.api.ListPartitions(ctx, &pb.ListPartitionsRequest{Collection: req.GetCollectionName()})
	if err != nil {
		return &milvuspb.BoolResponse{Status: statusOf(err)}, nil
	}
	return &milvuspb.BoolResponse{Status: success(), Value: contains(ps.Names, req.GetPartitionName())}, nil
}

func (s *Server) ShowPartitions(ctx context.Context, req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	ps, err := s.api.ListPartitions(ctx, &pb.ListPartitionsRequest{Collection: req.GetCollectionName()})
	if err != nil {
		return &milvuspb.ShowPartitionsResponse{Status: statusOf(err)}, nil
	}
	out := &milvuspb.ShowPartitionsResponse{Status: success()}
	for i, n := range ps.Names {
		if len(req.GetPartitionNames()) > 0 && !contains(req.GetPartitionNames(), n) {
			continue
		}
		out.PartitionNames = append(out.PartitionNames, n)
		out.PartitionIDs = append(out.PartitionIDs, int64(i))
		out.CreatedTimestamps = append(out.CreatedTimestamps, 0)
		out.CreatedUtcTimestamps = append(out.CreatedUtcTimestamps, 0)
		out.InMemoryPercentages = append(out.InMemoryPercentages, 100)
	}
	return out, nil
}

// --- loading: a raftvec collection is always served ---

func (s *Server) exists(ctx context.Context, name string) *commonpb.Status {
	if _, err := s.api.DescribeCollection(ctx, &pb.DescribeCollectionRequest{Name: name}); err != nil {
		return statusOf(err)
	}
	return success()
}

func (s *Server) LoadCollection(ctx context.Context, req *milvuspb.LoadCollectionRequest) (*commonpb.Status, error) {
	return s.exists(ctx, req.GetCollectionName()), nil
}

func (s *Server) ReleaseCollection(ctx context.Context, req *milvuspb.ReleaseCollectionRequest) (*commonpb.Status, error) {
	return s.exists(ctx, req.GetCollectionName()), nil
}

func (s *Server) LoadPartitions(ctx context.Context, req *milvuspb.LoadPartitionsRequest) (*commonpb.Status, error) {
	return s.exists(ctx, req.GetCollectionName()), nil
}

func (s *Server) ReleasePartitions(ctx context.Context, req *milvuspb.ReleasePartitionsRequest) (*commonpb.Status, error) {
	return s.exists(ctx, req.GetCollectionName()), nil
}

func (s *Server) GetLoadState(ctx context.Context, req *milvuspb.GetLoadStateRequest) (*milvuspb.GetLoadStateResponse, error) {
	if st := s.exists(ctx, req.GetCollectionName()); st.GetCode() != 0 {
		return &milvuspb.GetLoadStateResponse{Status: st}, nil
	}
	return &milvuspb.GetLoadStateResponse{Status: success(), State: commonpb.LoadState_LoadStateLoaded}, nil
}

func (s *Server) GetLoadingProgress(ctx context.Context, req *milvuspb.GetLoadingProgressRequest) (*milvuspb.GetLoadingProgressResponse, error) {
	if st := s.exists(ctx, req.GetCollectionName()); st.GetCode() != 0 {
		return &milvuspb.GetLoadingProgressResponse{Status: st}, nil
	}
	return &milvuspb.GetLoadingProgressResponse{Status: success(), Progress: 100, RefreshProgress: 100}, nil
}

// jsonParams decodes a Milvus "params" JSON object (numbers may be quoted).
func jsonParams(text string) (map[string]json.Number, error) {
	out := map[string]json.Number{}
	if strings.TrimSpace(text) == "" {
		return out, nil
	}
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, invalidf("params: %q is not a JSON object: %v", text, err)
	}
	for k, v := range raw {
		switch x := v.(type) {
		case json.Number:
			out[k] = x
		case string:
			out[k] = json.Number(x)
		}
	}
	return out, nil
}
