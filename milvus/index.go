package milvus

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// indexTypes maps Milvus index types to raftvec's; AUTOINDEX is HNSW.
var indexTypes = map[string]string{
	"FLAT": "FLAT", "HNSW": "HNSW", "AUTOINDEX": "HNSW", "IVF_FLAT": "IVF_FLAT", "IVF_SQ8": "IVF_SQ8", "IVF_PQ": "IVF_PQ",
}

// indexParams flattens CreateIndex's extra params: the Go SDK sends them
// flat (index_type, metric_type, M, efConstruction, nlist; IVF_PQ's m and
// nbits), the Node SDK puts the build parameters in a "params" JSON string.
func indexParams(kvs []*commonpb.KeyValuePair) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range kvs {
		if p.GetKey() != "params" {
			out[p.GetKey()] = p.GetValue()
			continue
		}
		m, err := jsonParams(p.GetValue())
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v.String()
		}
	}
	return out, nil
}

func (s *Server) CreateIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) (*commonpb.Status, error) {
	return statusOf(s.createIndex(ctx, req)), nil
}

func (s *Server) createIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) error {
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return err
	}
	if f := req.GetFieldName(); f != "" && f != c.vector.Name {
		if c.byName[f] != nil {
			return unsupported("an index on scalar field " + strconv.Quote(f))
		}
		return invalidf("field_name: collection %q has no field %q", c.schema.Name, f)
	}
	p, err := indexParams(req.GetExtraParams())
	if err != nil {
		return err
	}
	typ := strings.ToUpper(p["index_type"])
	if typ == "" {
		typ = "AUTOINDEX"
	}
	rt, ok := indexTypes[typ]
	if !ok {
		return invalidf("index_type: %q must be one of FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, AUTOINDEX", p["index_type"])
	}
	if err := checkMetric(c, p[metricKey], "metric_type"); err != nil {
		return err
	}
	num := func(key string) (uint32, error) {
		v, ok := p[key]
		if !ok || v == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, invalidf("%s: %q is not a non-negative integer", key, v)
		}
		return uint32(n), nil
	}
	m, err1 := num("M")
	efc, err2 := num("efConstruction")
	nlist, err3 := num("nlist")
	var pqm, nbits uint32
	var err4, err5 error
	if rt == "IVF_PQ" {
		// Milvus's IVF_PQ m is the subquantizer count (not HNSW's M).
		pqm, err4 = num("m")
		nbits, err5 = num("nbits")
	}
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			return err
		}
	}
	if nbits != 0 && nbits != 8 {
		return invalidf("nbits: %d is not supported; IVF_PQ codes are 8 bits per subquantizer (nbits 8)", nbits)
	}
	_, err = s.api.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: c.schema.Name, FieldName: c.vector.Name, IndexType: rt,
		M: m, EfConstruction: efc, Nlist: nlist, PqM: pqm, RequestId: s.requestID()})
	return err
}

// DescribeIndex reports the collection's one index. Its state is always
// Finished: a segment without its index yet is searched exactly, so the
// index never holds a search back. IndexedRows counts sealed segments that
// have theirs, for those who want to watch the builds.
func (s *Server) DescribeIndex(ctx context.Context, req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return &milvuspb.DescribeIndexResponse{Status: statusOf(err)}, nil
	}
	// STRONG: an index a CreateIndex just reported is there at once.
	ix, err := s.api.DescribeIndex(ctx, &pb.DescribeIndexRequest{Collection: c.schema.Name,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil {
		return &milvuspb.DescribeIndexResponse{Status: statusOf(err)}, nil
	}
	if ix.IndexType == "" || (req.GetFieldName() != "" && req.GetFieldName() != c.vector.Name) {
		return &milvuspb.DescribeIndexResponse{Status: &commonpb.Status{Code: codeIndexMissing, ErrorCode: commonpb.ErrorCode_IndexNotExist,
			Reason: "index not found[collection=" + c.schema.Name + "]"}}, nil
	}
	name := req.GetIndexName()
	if name == "" {
		name = c.vector.Name
	}
	build := map[string]any{}
	if ix.M > 0 {
		build["M"], build["efConstruction"] = ix.M, ix.EfConstruction
	}
	if ix.Nlist > 0 {
		build["nlist"] = ix.Nlist
	}
	if ix.PqM > 0 {
		build["m"], build["nbits"] = ix.PqM, uint32(8)
	}
	bp, _ := json.Marshal(build)
	params := []*commonpb.KeyValuePair{pair("index_type", ix.IndexType), pair(metricKey, c.vector.Metric.String()), pair("params", string(bp))}
	for k, v := range build {
		params = append(params, pair(k, strconv.FormatUint(uint64(v.(uint32)), 10)))
	}
	rows := int64(c.desc.Rows)
	d := &milvuspb.IndexDescription{IndexName: name, IndexID: c.id(), FieldName: c.vector.Name, Params: params,
		State: commonpb.IndexState_Finished, TotalRows: rows, IndexedRows: rows}
	return &milvuspb.DescribeIndexResponse{Status: success(), IndexDescriptions: []*milvuspb.IndexDescription{d}}, nil
}

func (s *Server) GetIndexState(ctx context.Context, req *milvuspb.GetIndexStateRequest) (*milvuspb.GetIndexStateResponse, error) {
	d, _ := s.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{CollectionName: req.GetCollectionName(), FieldName: req.GetFieldName(), IndexName: req.GetIndexName()})
	if d.GetStatus().GetCode() != 0 {
		return &milvuspb.GetIndexStateResponse{Status: d.GetStatus()}, nil
	}
	return &milvuspb.GetIndexStateResponse{Status: success(), State: commonpb.IndexState_Finished}, nil
}

func (s *Server) GetIndexBuildProgress(ctx context.Context, req *milvuspb.GetIndexBuildProgressRequest) (*milvuspb.GetIndexBuildProgressResponse, error) {
	d, _ := s.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{CollectionName: req.GetCollectionName(), FieldName: req.GetFieldName(), IndexName: req.GetIndexName()})
	if d.GetStatus().GetCode() != 0 {
		return &milvuspb.GetIndexBuildProgressResponse{Status: d.GetStatus()}, nil
	}
	ix := d.IndexDescriptions[0]
	return &milvuspb.GetIndexBuildProgressResponse{Status: success(), IndexedRows: ix.IndexedRows, TotalRows: ix.TotalRows}, nil
}

// DropIndex drops the collection's index, named by index or by field.
func (s *Server) DropIndex(ctx context.Context, req *milvuspb.DropIndexRequest) (*commonpb.Status, error) {
	c, err := s.describe(ctx, req.GetCollectionName())
	if err != nil {
		return statusOf(err), nil
	}
	if f := req.GetFieldName(); f != "" && f != c.vector.Name {
		return statusOf(invalidf("field_name: %q has no index (the index is on %q)", f, c.vector.Name)), nil
	}
	_, err = s.api.DropIndex(ctx, &pb.DropIndexRequest{Collection: c.schema.Name, FieldName: c.vector.Name, RequestId: s.requestID()})
	return statusOf(err), nil
}
