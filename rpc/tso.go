package rpc

import (
	"context"
	"time"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// AllocateTs serves the timestamp oracle on the metadata leader (node to
// node; see shard.Host.AllocateTs). Elsewhere it answers UNAVAILABLE: a
// range is not forwarded, the caller asks the leader itself.
func (s *Server) AllocateTs(ctx context.Context, req *pb.AllocateTsRequest) (*pb.AllocateTsResponse, error) {
	rng, err := s.host.AllocateTs(ctx, req.Physical, int(req.Count))
	if err != nil {
		return nil, err
	}
	return &pb.AllocateTsResponse{First: rng.First, Last: rng.Last}, nil
}

// forwardTs is the host's way to get timestamps from the oracle on the
// metadata leader.
func (s *Server) forwardTs(ctx context.Context, physical uint64, count int) (shard.TsRange, error) {
	n, ok := s.host.MetaLeader()
	if !ok || n.APIAddr == "" {
		return shard.TsRange{}, &shard.NotLeaderError{Group: shard.MetaGroup, LeaderID: n.ID}
	}
	c, err := s.conn(n.APIAddr)
	if err != nil {
		return shard.TsRange{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := pb.NewAdminClient(c).AllocateTs(ctx, &pb.AllocateTsRequest{Physical: physical, Count: uint32(count)})
	if err != nil {
		return shard.TsRange{}, err
	}
	return shard.TsRange{First: resp.First, Last: resp.Last}, nil
}
