package rpc

import "context"

// ReadIndexFrom exposes the read-index forwarder to the tests, which wrap
// it to act right after a leader answers.
func (s *Server) ReadIndexFrom(ctx context.Context, leaderID string, shardID uint64) (uint64, error) {
	return s.readIndexFrom(ctx, leaderID, shardID)
}
