package rpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/auth"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/pb"
)

// guard is the request layer as both wire protocols see it: raftvec.v1 is
// registered with it and the Milvus endpoint calls it, so a request is
// authorised by the same rule whichever protocol and node it comes in by.
// Each method checks the caller's privilege on the collection, then runs
// the Server's handler; DDL leaves an audit line.
type guard struct {
	pb.UnimplementedRaftVecServer
	s *Server
}

// Guarded is the request layer with authorisation (a no-op when the node
// runs without authentication).
func (s *Server) Guarded() pb.RaftVecServer { return guard{s: s} }

// allow decides a request: privilege on collection, or with collection ""
// the privilege cluster-wide (granted on "*", or admin).
func (s *Server) allow(ctx context.Context, privilege, collection string) error {
	if s.opts.Auth == nil {
		return nil
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return status.Error(codes.Unauthenticated, "no authenticated caller")
	}
	return s.opts.Auth.Allow(p, privilege, collection)
}

func guarded[Req, Resp any](g guard, ctx context.Context, priv, coll string, req Req, h func(context.Context, Req) (Resp, error)) (Resp, error) {
	if err := g.s.allow(ctx, priv, coll); err != nil {
		var zero Resp
		return zero, err
	}
	return h(ctx, req)
}

// ddl is guarded for calls that change the schema: they are audited.
func ddl[Req, Resp any](g guard, ctx context.Context, op, coll string, req Req, h func(context.Context, Req) (Resp, error)) (Resp, error) {
	out, err := guarded(g, ctx, fsm.PrivManage, coll, req, h)
	auth.Audit(ctx, g.s.host.NodeID(), op, coll, err)
	return out, err
}

func (g guard) CreateCollection(ctx context.Context, r *pb.CreateCollectionRequest) (*pb.CreateCollectionResponse, error) {
	return ddl(g, ctx, "CreateCollection", r.GetSchema().GetName(), r, g.s.CreateCollection)
}
func (g guard) DropCollection(ctx context.Context, r *pb.DropCollectionRequest) (*pb.DropCollectionResponse, error) {
	return ddl(g, ctx, "DropCollection", r.GetName(), r, g.s.DropCollection)
}
func (g guard) CreateIndex(ctx context.Context, r *pb.CreateIndexRequest) (*pb.CreateIndexResponse, error) {
	return ddl(g, ctx, "CreateIndex", r.GetCollection(), r, g.s.CreateIndex)
}
func (g guard) DropIndex(ctx context.Context, r *pb.DropIndexRequest) (*pb.DropIndexResponse, error) {
	return ddl(g, ctx, "DropIndex", r.GetCollection(), r, g.s.DropIndex)
}
func (g guard) CreatePartition(ctx context.Context, r *pb.PartitionRequest) (*pb.PartitionResponse, error) {
	return ddl(g, ctx, "CreatePartition", r.GetCollection(), r, g.s.CreatePartition)
}
func (g guard) DropPartition(ctx context.Context, r *pb.PartitionRequest) (*pb.PartitionResponse, error) {
	return ddl(g, ctx, "DropPartition", r.GetCollection(), r, g.s.DropPartition)
}
func (g guard) Compact(ctx context.Context, r *pb.CompactRequest) (*pb.CompactResponse, error) {
	return guarded(g, ctx, fsm.PrivManage, r.GetCollection(), r, g.s.Compact)
}

func (g guard) Insert(ctx context.Context, r *pb.InsertRequest) (*pb.WriteResponse, error) {
	return guarded(g, ctx, fsm.PrivWrite, r.GetCollection(), r, g.s.Insert)
}
func (g guard) Upsert(ctx context.Context, r *pb.InsertRequest) (*pb.WriteResponse, error) {
	return guarded(g, ctx, fsm.PrivWrite, r.GetCollection(), r, g.s.Upsert)
}
func (g guard) Delete(ctx context.Context, r *pb.DeleteRequest) (*pb.WriteResponse, error) {
	return guarded(g, ctx, fsm.PrivWrite, r.GetCollection(), r, g.s.Delete)
}
func (g guard) Flush(ctx context.Context, r *pb.FlushRequest) (*pb.FlushResponse, error) {
	return guarded(g, ctx, fsm.PrivWrite, r.GetCollection(), r, g.s.Flush)
}

// DescribeCollection: any privilege on the collection shows its schema,
// which writers need too (the Milvus endpoint reads it before an insert).
func (g guard) DescribeCollection(ctx context.Context, r *pb.DescribeCollectionRequest) (*pb.DescribeCollectionResponse, error) {
	err := g.s.allow(ctx, fsm.PrivRead, r.GetName())
	for _, p := range []string{fsm.PrivWrite, fsm.PrivManage} {
		if err != nil && g.s.allow(ctx, p, r.GetName()) == nil {
			err = nil
		}
	}
	if err != nil {
		return nil, err // names the read privilege
	}
	return g.s.DescribeCollection(ctx, r)
}
func (g guard) Get(ctx context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.Get)
}
func (g guard) Search(ctx context.Context, r *pb.SearchRequest) (*pb.SearchResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.Search)
}
func (g guard) Query(ctx context.Context, r *pb.QueryRequest) (*pb.QueryResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.Query)
}
func (g guard) DescribeIndex(ctx context.Context, r *pb.DescribeIndexRequest) (*pb.DescribeIndexResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.DescribeIndex)
}
func (g guard) ListPartitions(ctx context.Context, r *pb.ListPartitionsRequest) (*pb.ListPartitionsResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.ListPartitions)
}
func (g guard) ReadTs(ctx context.Context, r *pb.ReadTsRequest) (*pb.ReadTsResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.ReadTs)
}

// Export is a read of every row: it needs the read privilege.
func (g guard) Export(r *pb.ExportRequest, stream grpc.ServerStreamingServer[pb.ExportResponse]) error {
	if err := g.s.allow(stream.Context(), fsm.PrivRead, r.GetCollection()); err != nil {
		return err
	}
	return g.s.Export(r, stream)
}
func (g guard) GetRouting(ctx context.Context, r *pb.GetRoutingRequest) (*pb.GetRoutingResponse, error) {
	return guarded(g, ctx, fsm.PrivRead, r.GetCollection(), r, g.s.GetRouting)
}

// Status shows every node, shard and collection: cluster-wide, for admins.
func (g guard) Status(ctx context.Context, r *pb.StatusRequest) (*pb.StatusResponse, error) {
	return guarded(g, ctx, fsm.PrivAdmin, "", r, g.s.Status)
}

// ListCollections is open to every authenticated caller and lists the
// collections it may read.
func (g guard) ListCollections(ctx context.Context, r *pb.ListCollectionsRequest) (*pb.ListCollectionsResponse, error) {
	out, err := g.s.ListCollections(ctx, r)
	if err != nil || g.s.opts.Auth == nil {
		return out, err
	}
	names := out.Names[:0]
	for _, n := range out.Names {
		if g.s.allow(ctx, fsm.PrivRead, n) == nil {
			names = append(names, n)
		}
	}
	out.Names = names
	return out, nil
}
