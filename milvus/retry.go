package milvus

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/raftvec/raftvec/rpc"
	"github.com/raftvec/raftvec/rpc/pb"
)

// The Milvus SDKs do not retry a status that says "retriable", and they
// send no request id that would make a retry safe. So the endpoint retries
// for them, in process: while a shard changes leader (an election, or the
// leader spreading that follows a collection's creation) the request layer
// answers UNAVAILABLE, and the same request, with the same request id for
// a write, is sent again until it succeeds, fails otherwise, or the
// request's deadline (at most maxRetry) passes. The request id makes the
// retry of a write whose outcome was unknown apply once.
const (
	maxRetry     = 20 * time.Second
	firstBackoff = 20 * time.Millisecond
	maxBackoff   = 500 * time.Millisecond
)

func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(maxRetry)
	backoff := firstBackoff
	for {
		v, err := f()
		if err == nil || rpc.Status(err).Code() != codes.Unavailable || time.Now().Add(backoff).After(deadline) {
			return v, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// retrying is the request layer with retries on the calls that are safe to
// repeat: reads, and writes that carry a request id. DDL is not retried
// (a repeated CreateCollection could report AlreadyExists for its own
// first try).
type retrying struct{ pb.RaftVecServer }

func (r retrying) Insert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	return retry(ctx, func() (*pb.WriteResponse, error) { return r.RaftVecServer.Insert(ctx, req) })
}

func (r retrying) Upsert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	return retry(ctx, func() (*pb.WriteResponse, error) { return r.RaftVecServer.Upsert(ctx, req) })
}

func (r retrying) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.WriteResponse, error) {
	return retry(ctx, func() (*pb.WriteResponse, error) { return r.RaftVecServer.Delete(ctx, req) })
}

func (r retrying) Search(ctx context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	return retry(ctx, func() (*pb.SearchResponse, error) { return r.RaftVecServer.Search(ctx, req) })
}

func (r retrying) Query(ctx context.Context, req *pb.QueryRequest) (*pb.QueryResponse, error) {
	return retry(ctx, func() (*pb.QueryResponse, error) { return r.RaftVecServer.Query(ctx, req) })
}

func (r retrying) CreateIndex(ctx context.Context, req *pb.CreateIndexRequest) (*pb.CreateIndexResponse, error) {
	return retry(ctx, func() (*pb.CreateIndexResponse, error) { return r.RaftVecServer.CreateIndex(ctx, req) })
}

func (r retrying) DropIndex(ctx context.Context, req *pb.DropIndexRequest) (*pb.DropIndexResponse, error) {
	return retry(ctx, func() (*pb.DropIndexResponse, error) { return r.RaftVecServer.DropIndex(ctx, req) })
}

func (r retrying) DescribeIndex(ctx context.Context, req *pb.DescribeIndexRequest) (*pb.DescribeIndexResponse, error) {
	return retry(ctx, func() (*pb.DescribeIndexResponse, error) { return r.RaftVecServer.DescribeIndex(ctx, req) })
}

// Flush seals: a repeated seal of an empty growing segment changes nothing.
func (r retrying) Flush(ctx context.Context, req *pb.FlushRequest) (*pb.FlushResponse, error) {
	return retry(ctx, func() (*pb.FlushResponse, error) { return r.RaftVecServer.Flush(ctx, req) })
}
