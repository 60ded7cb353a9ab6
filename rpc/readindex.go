package rpc

import (
	"context"
	"fmt"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// ReadIndex answers a follower's request for a read index; only the shard's
// leader answers (no forwarding: the follower asks the node it believes
// leads, and asks again through the leader hint if that was wrong).
func (s *Server) ReadIndex(ctx context.Context, req *pb.ReadIndexRequest) (*pb.ReadIndexResponse, error) {
	r := s.host.Replica(req.ShardId)
	if r == nil {
		return nil, fmt.Errorf("%w: shard %d", shard.ErrNoReplica, req.ShardId)
	}
	idx, err := r.LeaderReadIndex(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ReadIndexResponse{Index: idx}, nil
}

// readIndexFrom asks node leaderID, which this node believes leads shard
// shardID, for a read index.
func (s *Server) readIndexFrom(ctx context.Context, leaderID string, shardID uint64) (uint64, error) {
	n, ok := s.host.Meta().Nodes[leaderID]
	if !ok || n.APIAddr == "" {
		return 0, &shard.NotLeaderError{Group: "route", LeaderID: leaderID}
	}
	c, err := s.conn(n.APIAddr)
	if err != nil {
		return 0, err
	}
	resp, err := pb.NewAdminClient(c).ReadIndex(s.forwardContext(ctx), &pb.ReadIndexRequest{ShardId: shardID})
	if err != nil {
		return 0, err
	}
	return resp.Index, nil
}
