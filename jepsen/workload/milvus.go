package workload

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
)

// milvusRegister is the register workload spoken through the Milvus
// endpoint (MilvusService) of a random node per operation: Upsert, Delete
// by expression, Query with consistency level Strong, and Strong exact
// probe searches. The same checkers judge it, so Milvus's Strong must be
// linearizable exactly as raftvec.v1's STRONG.
type milvusRegister struct {
	coll     string
	keys     int
	versions *versionLog

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (m *milvusRegister) Name() string         { return "milvus-register" }
func (m *milvusRegister) ServerArgs() []string { return nil }

// node returns a Milvus client of a random node.
func (m *milvusRegister) node(w *Worker) (milvuspb.MilvusServiceClient, error) {
	addrs := w.env.Cluster.MilvusAddrs()
	addr := addrs[w.Rng.IntN(len(addrs))]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conns == nil {
		m.conns = map[string]*grpc.ClientConn{}
	}
	c, ok := m.conns[addr]
	if !ok {
		var err error
		if c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return nil, err
		}
		m.conns[addr] = c
	}
	return milvuspb.NewMilvusServiceClient(c), nil
}

// milvusError turns a Milvus status into an error Classify understands:
// only a refused parameter or a missing collection proves that nothing
// was applied.
func milvusError(st *commonpb.Status, err error) error {
	if err != nil {
		return err
	}
	switch st.GetCode() {
	case 0:
		// Milvus SDKs read both codes (the Node SDK only error_code), so
		// a success must have both.
		//lint:ignore SA1019 error_code is deprecated in milvus-proto but still read by the SDKs
		if ec := st.GetErrorCode(); ec != commonpb.ErrorCode_Success {
			return status.Error(codes.Unknown, "error_code "+ec.String()+" with code 0: "+st.GetReason())
		}
		return nil
	case 1100:
		return status.Error(codes.InvalidArgument, st.GetReason())
	case 100:
		return status.Error(codes.NotFound, st.GetReason())
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("milvus code %d: %s", st.GetCode(), st.GetReason()))
}

func (m *milvusRegister) Op(w *Worker) {
	key := int64(1 + w.Rng.IntN(m.keys))
	switch x := w.Rng.IntN(100); {
	case x < 35:
		v := w.env.NextVersion()
		m.versions.add(key, v)
		m.upsert(w, key, v)
	case x < 45:
		m.delete(w, key)
	case x < 80:
		m.get(w, key)
	default:
		v, ok := m.versions.pick(w.Rng, key)
		if !ok {
			m.get(w, key)
			return
		}
		m.probe(w, key, v)
	}
}

func (m *milvusRegister) upsert(w *Worker, key, v int64) {
	w.Do(history.Op{Kind: history.Upsert, Key: key, Value: v}, func(ctx context.Context, op *history.Op) error {
		c, err := m.node(w)
		if err != nil {
			return err
		}
		resp, err := c.Upsert(ctx, &milvuspb.UpsertRequest{CollectionName: m.coll, NumRows: 1, FieldsData: []*schemapb.FieldData{
			{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
				Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{key}}}}}},
			{FieldName: "vector", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{
				Dim: Dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: Vector(key, v)}}}}},
		}})
		if err := milvusError(resp.GetStatus(), err); err != nil {
			return err
		}
		op.Ts = resp.GetTimestamp()
		return nil
	})
}

func (m *milvusRegister) delete(w *Worker, key int64) {
	w.Do(history.Op{Kind: history.Delete, Key: key}, func(ctx context.Context, op *history.Op) error {
		c, err := m.node(w)
		if err != nil {
			return err
		}
		resp, err := c.Delete(ctx, &milvuspb.DeleteRequest{CollectionName: m.coll, Expr: "id in [" + strconv.FormatInt(key, 10) + "]"})
		if err := milvusError(resp.GetStatus(), err); err != nil {
			return err
		}
		op.Ts = resp.GetTimestamp()
		return nil
	})
}

func (m *milvusRegister) get(w *Worker, key int64) {
	w.Do(history.Op{Kind: history.Get, Key: key, Level: history.Strong}, func(ctx context.Context, op *history.Op) error {
		c, err := m.node(w)
		if err != nil {
			return err
		}
		op.Value, op.Ts, err = MilvusGet(ctx, c, m.coll, key)
		return err
	})
}

// MilvusGet reads key with a Strong Milvus Query and returns its version
// (history.Absent when missing) and the read's ts.
func MilvusGet(ctx context.Context, c milvuspb.MilvusServiceClient, coll string, key int64) (int64, uint64, error) {
	resp, err := c.Query(ctx, &milvuspb.QueryRequest{CollectionName: coll, Expr: "id == " + strconv.FormatInt(key, 10),
		OutputFields: []string{"vector"}, ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	if err := milvusError(resp.GetStatus(), err); err != nil {
		return 0, 0, err
	}
	ids, vecs, err := milvusRows(resp.GetFieldsData(), nil)
	if err != nil {
		return 0, 0, err
	}
	v := history.Absent
	for i, id := range ids {
		if id != key {
			return 0, 0, fmt.Errorf("query for id %d returned id %d", key, id)
		}
		v = vectorVersion(key, vecs[i])
	}
	return v, resp.GetSessionTs(), nil
}

// probe searches Strong for the exact vector of (key, v), as register's
// probe does through raftvec.v1.
func (m *milvusRegister) probe(w *Worker, key, v int64) {
	w.Do(history.Op{Kind: history.Probe, Key: key, Value: v, Level: history.Strong}, func(ctx context.Context, op *history.Op) error {
		c, err := m.node(w)
		if err != nil {
			return err
		}
		q := Vector(key, v)
		b := make([]byte, 4*len(q))
		for i, f := range q {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
		}
		pg, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{
			{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector, Values: [][]byte{b}}}})
		if err != nil {
			return err
		}
		resp, err := c.Search(ctx, &milvuspb.SearchRequest{CollectionName: m.coll, Nq: 1, DslType: commonpb.DslType_BoolExprV1,
			SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: pg}, OutputFields: []string{"vector"},
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong, SearchParams: []*commonpb.KeyValuePair{
				{Key: "anns_field", Value: "vector"}, {Key: "topk", Value: "3"}, {Key: "metric_type", Value: "L2"}}})
		if err := milvusError(resp.GetStatus(), err); err != nil {
			return err
		}
		r := resp.GetResults()
		ids, vecs, err := milvusRows(r.GetFieldsData(), r.GetIds().GetIntId().GetData())
		if err != nil {
			return err
		}
		if len(r.GetScores()) != len(ids) {
			return fmt.Errorf("search returned %d scores for %d hits", len(r.GetScores()), len(ids))
		}
		for i, id := range ids {
			op.Keys, op.Values = append(op.Keys, id), append(op.Values, vectorVersion(id, vecs[i]))
		}
		op.Distances, op.Ts = r.GetScores(), resp.GetSessionTs()
		return nil
	})
}

// milvusRows reads the id and vector columns of a Milvus result; ids, when
// given, are the search hits' ids, which the pk column must repeat.
func milvusRows(cols []*schemapb.FieldData, ids []int64) ([]int64, [][]float32, error) {
	var pks []int64
	var flat []float32
	for _, c := range cols {
		switch c.GetFieldName() {
		case "id":
			pks = c.GetScalars().GetLongData().GetData()
		case "vector":
			flat = c.GetVectors().GetFloatVector().GetData()
		}
	}
	if ids != nil && !slices.Equal(ids, pks) {
		return nil, nil, fmt.Errorf("hit ids %v but pk column %v", ids, pks)
	}
	if len(flat) != Dim*len(pks) {
		return nil, nil, fmt.Errorf("%d ids and %d vector floats", len(pks), len(flat))
	}
	vecs := make([][]float32, len(pks))
	for i := range pks {
		vecs[i] = flat[i*Dim : (i+1)*Dim]
	}
	return pks, vecs, nil
}

// vectorVersion decodes the version a row's vector encodes, or NoVersion.
func vectorVersion(key int64, v []float32) int64 {
	k, ver, ok := Decode(v)
	if !ok || k != key {
		return NoVersion
	}
	return ver
}

func (m *milvusRegister) Final(ctx context.Context, e *Env, c *client.Client) error {
	m.mu.Lock()
	for _, cc := range m.conns {
		cc.Close()
	}
	m.conns = nil
	m.mu.Unlock()
	_, err := finalGets(ctx, e, c, m.coll, keyRange(m.keys))
	return err
}

func (m *milvusRegister) Check(h []history.Op, o CheckOptions) []check.Result {
	return []check.Result{registerCheck(h, o), check.SearchOracle(h)}
}
