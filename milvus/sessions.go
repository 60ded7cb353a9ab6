package milvus

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A Milvus client connection is named by the identifier Connect hands out;
// the SDKs send it as gRPC metadata on every later call. raftvec keeps, per
// identifier, the highest ts the connection has written or read on each
// node. A Session read without a guarantee timestamp waits for the highest
// such ts on any node, so it sees the connection's writes whichever node
// they went through (read-your-writes, monotonic reads).
//
// What a node knows is lost when it restarts. An identifier therefore
// carries its creation time (Unix ms in the high bits), and a node answers
// with its start time: when a node started after the identifier was made,
// minus clockMargin, the writes it may have forgotten could be anywhere,
// and the read is served STRONG instead. The same happens when a node
// cannot be asked.
const (
	identifierKey = "identifier"
	idRandomBits  = 22
	sessionIdle   = time.Hour       // forget a connection idle this long
	clockMargin   = time.Minute     // clocks of nodes differ less than this
	peerTimeout   = 2 * time.Second // asking one node for a connection's ts
	sweepEvery    = 4096            // observations between sweeps of idle entries
)

type sessionEntry struct {
	ts   uint64
	seen time.Time
}

// sessions is one node's part of the cluster-wide session table.
type sessions struct {
	started time.Time
	mu      sync.Mutex
	byID    map[int64]*sessionEntry
	ops     int
}

func newSessions() *sessions {
	return &sessions{started: time.Now(), byID: map[int64]*sessionEntry{}}
}

// newIdentifier makes a non-zero connection identifier: creation time in
// Unix ms above idRandomBits random bits.
func newIdentifier(now time.Time) int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	r := int64(binary.LittleEndian.Uint64(b[:]) & (1<<idRandomBits - 1))
	return now.UnixMilli()<<idRandomBits | r | 1
}

// identifierTime is when id was made.
func identifierTime(id int64) time.Time { return time.UnixMilli(id >> idRandomBits) }

// identifierOf reads the connection identifier a call carries (0 if none).
func identifierOf(ctx context.Context) int64 {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(identifierKey)
	if len(v) == 0 {
		return 0
	}
	id, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// observe records that connection id wrote or read at ts on this node.
func (s *sessions) observe(id int64, ts uint64) {
	if id == 0 || ts == 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		e = &sessionEntry{}
		s.byID[id] = e
	}
	e.ts, e.seen = max(e.ts, ts), now
	if s.ops++; s.ops >= sweepEvery {
		s.ops = 0
		for k, v := range s.byID {
			if now.Sub(v.seen) > sessionIdle {
				delete(s.byID, k)
			}
		}
	}
}

// local is this node's highest ts for id.
func (s *sessions) local(id int64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.byID[id]; e != nil {
		return e.ts
	}
	return 0
}

// knows reports whether this node's table covers every write of id: it
// has run since before id was made.
func knows(started time.Time, id int64) bool {
	return started.Before(identifierTime(id).Add(-clockMargin))
}

// token is the session token for a read by connection id: the highest ts
// any node has for it. ok is false when some node could not vouch for its
// part (unreachable, or restarted since id was made); the caller then
// reads STRONG.
func (s *sessions) token(ctx context.Context, id int64, peers []SessionPeer) (tok uint64, ok bool) {
	if !knows(s.started, id) {
		return 0, false
	}
	tok = s.local(id)
	type answer struct {
		ts uint64
		ok bool
	}
	ch := make(chan answer, len(peers))
	for _, p := range peers {
		go func(p SessionPeer) {
			ctx, cancel := context.WithTimeout(ctx, peerTimeout)
			defer cancel()
			ts, started, err := p.SessionTs(ctx, id)
			ch <- answer{ts, err == nil && knows(started, id)}
		}(p)
	}
	ok = true
	for range peers {
		a := <-ch
		tok, ok = max(tok, a.ts), ok && a.ok
	}
	return tok, ok
}

// SessionPeer asks another node for its part of the session table.
type SessionPeer interface {
	SessionTs(ctx context.Context, id int64) (ts uint64, started time.Time, err error)
}

// The node-to-node session service rides on the raftvec API listener. Its
// messages are well-known wrapper types, so it needs no generated code:
// the request is the identifier, the answer packs the ts and this node's
// start time (Unix ms) as "ts/started".
const sessionMethod = "/raftvec.milvus.Sessions/Get"

type sessionService interface {
	get(ctx context.Context, id *wrapperspb.Int64Value) (*wrapperspb.StringValue, error)
}

func (s *Server) get(_ context.Context, id *wrapperspb.Int64Value) (*wrapperspb.StringValue, error) {
	ts := s.sessions.local(id.GetValue())
	return wrapperspb.String(strconv.FormatUint(ts, 10) + "/" + strconv.FormatInt(s.sessions.started.UnixMilli(), 10)), nil
}

var sessionServiceDesc = grpc.ServiceDesc{
	ServiceName: "raftvec.milvus.Sessions",
	HandlerType: (*sessionService)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Get",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.Int64Value)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(sessionService).get(ctx, in)
		},
	}},
	Metadata: "raftvec/milvus/sessions",
}

// RegisterSessions serves this node's session table to the other nodes on
// gs (the node's raftvec API server).
func (s *Server) RegisterSessions(gs *grpc.Server) { gs.RegisterService(&sessionServiceDesc, s) }

// grpcPeer is a SessionPeer reached over a client connection.
type grpcPeer struct{ cc grpc.ClientConnInterface }

func (p grpcPeer) SessionTs(ctx context.Context, id int64) (uint64, time.Time, error) {
	out := new(wrapperspb.StringValue)
	if err := p.cc.Invoke(ctx, sessionMethod, wrapperspb.Int64(id), out); err != nil {
		return 0, time.Time{}, err
	}
	tsText, startText, _ := strings.Cut(out.GetValue(), "/")
	ts, err1 := strconv.ParseUint(tsText, 10, 64)
	ms, err2 := strconv.ParseInt(startText, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, invalidf("session answer %q is malformed", out.GetValue())
	}
	return ts, time.UnixMilli(ms), nil
}
