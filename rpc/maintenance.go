package rpc

import (
	"context"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// Compact merges the collection's sealed segments that hold deleted rows
// or are small.
func (s *Server) Compact(ctx context.Context, req *pb.CompactRequest) (*pb.CompactResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.CompactResponse, error) {
			return s.Compact(ctx, &pb.CompactRequest{Collection: req.Collection, ShardId: sh.ID})
		}, func(out []*pb.CompactResponse) *pb.CompactResponse {
			r := &pb.CompactResponse{}
			for _, o := range out {
				r.SegmentsMerged += o.SegmentsMerged
			}
			return r
		})
	}
	return onShard(ctx, s, sh, true,
		func(r *shard.Replica) (*pb.CompactResponse, error) {
			n, err := r.Compact(ctx, true)
			return &pb.CompactResponse{SegmentsMerged: uint32(n)}, err
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.CompactResponse, error) { return c.Compact(ctx, req) })
}

// Flush seals the growing segment of every shard (or of shard_id), so that
// the rows written so far are covered by the collection's index once the
// background builds finish.
func (s *Server) Flush(ctx context.Context, req *pb.FlushRequest) (*pb.FlushResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.FlushResponse, error) {
			return s.Flush(ctx, &pb.FlushRequest{Collection: req.Collection, ShardId: sh.ID})
		}, func(out []*pb.FlushResponse) *pb.FlushResponse {
			r := &pb.FlushResponse{}
			for _, o := range out {
				r.Ts = max(r.Ts, o.Ts)
			}
			return r
		})
	}
	return onShard(ctx, s, sh, true,
		func(r *shard.Replica) (*pb.FlushResponse, error) {
			ts, err := r.Seal(ctx)
			return &pb.FlushResponse{Ts: ts}, err
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.FlushResponse, error) { return c.Flush(ctx, req) })
}
