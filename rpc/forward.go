package rpc

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
	"github.com/raftvec/raftvec/telemetry"
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
// every caller: over mutual TLS with the node's certificate when TLS is on,
// and carrying the trace context of the call when tracing is on.
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
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(2*MaxRequestBytes), grpc.MaxCallSendMsgSize(2*MaxRequestBytes))}
	c, err := grpc.NewClient(addr, append(opts, s.tracing.dialOptions()...)...)
	if err != nil {
		return nil, err
	}
	s.conns[addr] = c
	return c, nil
}

// forward sends a request to another node's API, once. A traced request
// gets an rpc.forward span naming the node, around the gRPC call's own.
func forward[T any](ctx context.Context, s *Server, nodeID string, call func(pb.RaftVecClient, context.Context) (T, error)) (_ T, err error) {
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
	ctx, span := telemetry.Start(ctx, "rpc.forward")
	defer func() { telemetry.End(span, err) }()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("raftvec.to_node", nodeID), attribute.Int("raftvec.hops", hops(ctx)+1))
	}
	s.log.DebugContext(ctx, "forward", "to_node", nodeID, "hops", hops(ctx)+1)
	return call(pb.NewRaftVecClient(c), s.forwardContext(ctx))
}
