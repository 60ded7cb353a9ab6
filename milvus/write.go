package milvus

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// mutation is the MutationResult of a write: the raftvec write ts is the
// Milvus hybrid ts (the same layout), so a client may pass it back as a
// guarantee_timestamp.
func (s *Server) mutation(ctx context.Context, w *pb.WriteResponse, ids *schemapb.IDs) *milvuspb.MutationResult {
	s.sessions.observe(identifierOf(ctx), w.Ts)
	return &milvuspb.MutationResult{Status: success(), IDs: ids, Timestamp: w.Ts, Acknowledged: true}
}

func (s *Server) write(ctx context.Context, name, partition string, cols []*schemapb.FieldData, numRows uint32, upsert bool) *milvuspb.MutationResult {
	c, err := s.describe(ctx, name)
	if err != nil {
		return &milvuspb.MutationResult{Status: statusOf(err)}
	}
	rows, err := rowsFromColumns(c, cols, int(numRows))
	if err != nil {
		return &milvuspb.MutationResult{Status: statusOf(err)}
	}
	req := &pb.InsertRequest{Collection: name, Rows: rows, PartitionName: partition, RequestId: s.requestID(),
		SessionToken: s.sessions.local(identifierOf(ctx))}
	var w *pb.WriteResponse
	if upsert {
		w, err = s.api.Upsert(ctx, req)
	} else {
		w, err = s.api.Insert(ctx, req)
	}
	if err != nil {
		return &milvuspb.MutationResult{Status: statusOf(err)}
	}
	varchar := c.pk.Type == pb.FieldType_VARCHAR
	ints, strs := rows.IntIds, rows.StrIds
	if len(w.AutoIds) > 0 {
		ints = w.AutoIds
	}
	out := s.mutation(ctx, w, idsOf(ints, strs, varchar))
	n := int64(max(len(ints), len(strs)))
	if upsert {
		out.UpsertCnt = n
	} else {
		out.InsertCnt = n
	}
	return out
}

func (s *Server) Insert(ctx context.Context, req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	return s.write(ctx, req.GetCollectionName(), req.GetPartitionName(), req.GetFieldsData(), req.GetNumRows(), false), nil
}

func (s *Server) Upsert(ctx context.Context, req *milvuspb.UpsertRequest) (*milvuspb.MutationResult, error) {
	if req.GetPartialUpdate() || len(req.GetFieldOps()) > 0 {
		return &milvuspb.MutationResult{Status: statusOf(unsupported("partial_update"))}, nil
	}
	return s.write(ctx, req.GetCollectionName(), req.GetPartitionName(), req.GetFieldsData(), req.GetNumRows(), true), nil
}

// Delete removes the rows matching expr (the SDKs turn "delete by ids"
// into "pk in [...]").
func (s *Server) Delete(ctx context.Context, req *milvuspb.DeleteRequest) (*milvuspb.MutationResult, error) {
	if len(req.GetExprTemplateValues()) > 0 {
		return &milvuspb.MutationResult{Status: statusOf(unsupported("expr_template_values"))}, nil
	}
	if req.GetExpr() == "" {
		return &milvuspb.MutationResult{Status: statusOf(invalidf("expr: a delete needs a filter expression"))}, nil
	}
	var parts []string
	if p := req.GetPartitionName(); p != "" {
		parts = []string{p}
	}
	w, err := s.api.Delete(ctx, &pb.DeleteRequest{Collection: req.GetCollectionName(), Filter: req.GetExpr(), PartitionNames: parts,
		RequestId: s.requestID(), SessionToken: s.sessions.local(identifierOf(ctx))})
	if err != nil {
		return &milvuspb.MutationResult{Status: statusOf(err)}, nil
	}
	out := s.mutation(ctx, w, nil)
	out.DeleteCnt = int64(w.Deleted)
	return out, nil
}

// Flush seals the growing segments of each collection. Rows are durable
// when a write returns; Flush only hands them to the index builder.
func (s *Server) Flush(ctx context.Context, req *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	out := &milvuspb.FlushResponse{Status: success(), DbName: req.GetDbName(), CollSegIDs: map[string]*schemapb.LongArray{},
		FlushCollSegIDs: map[string]*schemapb.LongArray{}, CollSealTimes: map[string]int64{}, CollFlushTs: map[string]uint64{}}
	for _, name := range req.GetCollectionNames() {
		r, err := s.api.Flush(ctx, &pb.FlushRequest{Collection: name})
		if err != nil {
			return &milvuspb.FlushResponse{Status: statusOf(err)}, nil
		}
		out.CollSegIDs[name] = &schemapb.LongArray{}
		out.FlushCollSegIDs[name] = &schemapb.LongArray{}
		out.CollSealTimes[name] = int64(r.Ts >> 18 / 1000)
		out.CollFlushTs[name] = r.Ts
	}
	return out, nil
}

// GetFlushState is always flushed: Flush returns after the seals applied.
func (s *Server) GetFlushState(ctx context.Context, req *milvuspb.GetFlushStateRequest) (*milvuspb.GetFlushStateResponse, error) {
	return &milvuspb.GetFlushStateResponse{Status: success(), Flushed: true}, nil
}

func (s *Server) GetFlushAllState(ctx context.Context, req *milvuspb.GetFlushAllStateRequest) (*milvuspb.GetFlushAllStateResponse, error) {
	return &milvuspb.GetFlushAllStateResponse{Status: success(), Flushed: true}, nil
}
