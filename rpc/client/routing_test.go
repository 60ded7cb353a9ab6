package client

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/raftvec/raftvec/rpc/pb"
)

// slowLeader is a one-shard cluster whose leader answers its first insert
// only after delay; later ones at once. It records the request ids.
type slowLeader struct {
	pb.UnimplementedRaftVecServer
	addr  string
	delay time.Duration
	mu    sync.Mutex
	ids   []string
}

func (s *slowLeader) GetRouting(context.Context, *pb.GetRoutingRequest) (*pb.GetRoutingResponse, error) {
	return &pb.GetRoutingResponse{Shards: []*pb.ShardRoute{{Id: 1, LeaderAddr: s.addr, ReplicaAddrs: []string{s.addr}}}}, nil
}

func (s *slowLeader) Insert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	s.mu.Lock()
	s.ids = append(s.ids, req.RequestId)
	first := len(s.ids) == 1
	s.mu.Unlock()
	if first {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &pb.WriteResponse{Ts: 7, SessionToken: 7, Inserted: 1}, nil
}

// A leader that does not answer a direct write within the direct window
// (half the deadline, at most 5 s) is not a final answer while the
// caller's deadline has time left: the write is retried through the
// server under the same request id.
func TestDirectWindowOverFallsBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &slowLeader{addr: ln.Addr().String(), delay: 2 * time.Second}
	gs := grpc.NewServer()
	pb.RegisterRaftVecServer(gs, s)
	go gs.Serve(ln)
	defer gs.Stop()
	c, err := New([]string{s.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // window 1.5 s
	defer cancel()
	resp, err := c.Insert(ctx, &pb.InsertRequest{Collection: "c", Rows: &pb.Rows{IntIds: []int64{1}, Vectors: []float32{1}}})
	if err != nil {
		t.Fatalf("insert: %v; want it retried after the direct window", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if resp.Inserted != 1 || len(s.ids) != 2 || s.ids[0] == "" || s.ids[0] != s.ids[1] {
		t.Fatalf("response %v after attempts under ids %q; want 2 attempts under one request id", resp, s.ids)
	}
}
