package rpc

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc/metadata"

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
	// Without this node's metadata index: the leader must not wait for
	// metadata it may never see (it might be cut off). The replica bounds
	// the call: a node that no longer leads cannot finish its round, and
	// the read then goes to the leader by forwarding instead.
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(forwardedKey, strconv.Itoa(hops(ctx)+1)))
	resp, err := pb.NewAdminClient(c).ReadIndex(ctx, &pb.ReadIndexRequest{ShardId: shardID})
	if err != nil {
		return 0, err
	}
	return resp.Index, nil
}
