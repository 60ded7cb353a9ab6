package milvus

import (
	"context"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// indexAPI is a request layer with one collection that records CreateIndex.
type indexAPI struct {
	pb.UnimplementedRaftVecServer
	got *pb.CreateIndexRequest
}

func (a *indexAPI) DescribeCollection(context.Context, *pb.DescribeCollectionRequest) (*pb.DescribeCollectionResponse, error) {
	return &pb.DescribeCollectionResponse{Schema: &pb.CollectionSchema{Name: "c", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 128, Metric: pb.Metric_L2},
	}}}, nil
}

func (a *indexAPI) CreateIndex(_ context.Context, req *pb.CreateIndexRequest) (*pb.CreateIndexResponse, error) {
	a.got = req
	return &pb.CreateIndexResponse{}, nil
}

// Milvus's IVF_PQ parameters: m is the subquantizer count (raftvec's pq_m,
// distinct from HNSW's M), nbits must be 8.
func TestCreateIndexIVFPQParams(t *testing.T) {
	for _, c := range []struct {
		params  []*commonpb.KeyValuePair
		pqm     uint32
		wantErr string
	}{
		{[]*commonpb.KeyValuePair{pair("index_type", "IVF_PQ"), pair("nlist", "128"), pair("m", "16"), pair("nbits", "8")}, 16, ""},
		{[]*commonpb.KeyValuePair{pair("index_type", "IVF_PQ"), pair("params", `{"nlist": 64, "m": 32}`)}, 32, ""},
		{[]*commonpb.KeyValuePair{pair("index_type", "IVF_PQ")}, 0, ""},
		{[]*commonpb.KeyValuePair{pair("index_type", "IVF_PQ"), pair("m", "16"), pair("nbits", "4")}, 0, "nbits: 4 is not supported"},
		{[]*commonpb.KeyValuePair{pair("index_type", "IVF_PQ"), pair("m", "x")}, 0, `m: "x" is not a non-negative integer`},
	} {
		api := &indexAPI{}
		s := NewServer(Config{API: api, NodeID: "n1"})
		st, _ := s.CreateIndex(context.Background(), &milvuspb.CreateIndexRequest{CollectionName: "c", ExtraParams: c.params})
		if c.wantErr != "" {
			if st.GetCode() == 0 || !strings.Contains(st.GetReason(), c.wantErr) || api.got != nil {
				t.Fatalf("%v: status %v, forwarded %v; want %q", c.params, st, api.got, c.wantErr)
			}
			continue
		}
		if st.GetCode() != 0 || api.got == nil || api.got.IndexType != "IVF_PQ" || api.got.PqM != c.pqm || api.got.M != 0 {
			t.Fatalf("%v: status %v, forwarded %v; want IVF_PQ with pq_m %d", c.params, st, api.got, c.pqm)
		}
	}
}
