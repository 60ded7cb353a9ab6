package milvus

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// boundedStalenessMs is Bounded's staleness: Milvus's default graceful
// time (common.gracefulTime, 5 s).
const boundedStalenessMs = 5000

// levelToRaftvec maps a collection's default level for its schema.
func levelToRaftvec(l commonpb.ConsistencyLevel) pb.ConsistencyLevel {
	switch l {
	case commonpb.ConsistencyLevel_Strong:
		return pb.ConsistencyLevel_STRONG
	case commonpb.ConsistencyLevel_Session, commonpb.ConsistencyLevel_Customized:
		return pb.ConsistencyLevel_SESSION
	case commonpb.ConsistencyLevel_Eventually:
		return pb.ConsistencyLevel_EVENTUAL
	}
	return pb.ConsistencyLevel_BOUNDED
}

func levelFromRaftvec(l pb.ConsistencyLevel) commonpb.ConsistencyLevel {
	switch l {
	case pb.ConsistencyLevel_STRONG, pb.ConsistencyLevel_DEFAULT:
		return commonpb.ConsistencyLevel_Strong
	case pb.ConsistencyLevel_SESSION:
		return commonpb.ConsistencyLevel_Session
	case pb.ConsistencyLevel_EVENTUAL:
		return commonpb.ConsistencyLevel_Eventually
	}
	return commonpb.ConsistencyLevel_Bounded
}

// readRequest is what a Milvus read says about freshness.
type readRequest struct {
	level      commonpb.ConsistencyLevel
	useDefault bool
	guarantee  uint64 // guarantee_timestamp
	travel     uint64 // travel_timestamp: read as of this ts
}

// readOptions decides how a Milvus read is served:
//
//	Strong                         → STRONG
//	Bounded                        → BOUNDED, 5 s
//	Eventually                     → EVENTUAL
//	Session or Customized, g > 0   → SESSION with token g
//	Session, g = 0, identifier     → SESSION with the connection's token,
//	                                 or STRONG when it cannot be known
//	Session, g = 0, no identifier  → SESSION with token 0 (as Milvus: no
//	                                 guarantee beyond this node's state)
//
// The collection's default level stands in when the SDK asks for it.
func (s *Server) readOptions(ctx context.Context, r readRequest, def commonpb.ConsistencyLevel) *pb.ReadOptions {
	level := r.level
	if r.useDefault {
		level = def
	}
	ro := &pb.ReadOptions{AsOfTs: r.travel}
	switch level {
	case commonpb.ConsistencyLevel_Strong:
		ro.Level = pb.ConsistencyLevel_STRONG
	case commonpb.ConsistencyLevel_Eventually:
		ro.Level = pb.ConsistencyLevel_EVENTUAL
	case commonpb.ConsistencyLevel_Session, commonpb.ConsistencyLevel_Customized:
		ro.Level = pb.ConsistencyLevel_SESSION
		ro.SessionToken = r.guarantee
		if id := identifierOf(ctx); ro.SessionToken == 0 && id != 0 {
			tok, ok := s.sessions.token(ctx, id, s.peers())
			if !ok {
				return &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG, AsOfTs: r.travel}
			}
			ro.SessionToken = tok
		}
	default:
		ro.Level, ro.MaxStalenessMs = pb.ConsistencyLevel_BOUNDED, boundedStalenessMs
	}
	return ro
}
