package rpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// Close closes the connections to other nodes.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = map[string]*grpc.ClientConn{}
}

// Conn is this node's connection to another node's API at addr, shared by
// every caller: over mutual TLS with the node's certificate when TLS is on.
func (s *Server) Conn(addr string) (*grpc.ClientConn, error) { return s.conn(addr) }

func (s *Server) conn(addr string) (*grpc.ClientConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.conns[addr]; ok {
		return c, nil
	}
	creds := insecure.NewCredentials()
	if s.opts.TLS != nil {
		creds = credentials.NewTLS(s.opts.TLS.ClientConfig(""))
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(2*MaxRequestBytes), grpc.MaxCallSendMsgSize(2*MaxRequestBytes)))
	if err != nil {
		return nil, err
	}
	s.conns[addr] = c
	return c, nil
}

// forward sends a request to another node's API, once.
func forward[T any](ctx context.Context, s *Server, nodeID string, call func(pb.RaftVecClient, context.Context) (T, error)) (T, error) {
	var zero T
	n, ok := s.host.Meta().Nodes[nodeID]
	if !ok || n.APIAddr == "" {
		return zero, &shard.NotLeaderError{Group: "route", LeaderID: nodeID}
	}
	c, err := s.conn(n.APIAddr)
	if err != nil {
		return zero, err
	}
	s.forwarded.add()
	return call(pb.NewRaftVecClient(c), s.forwardContext(ctx))
}
