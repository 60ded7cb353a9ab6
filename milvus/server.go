package milvus

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// Version is what GetVersion reports: the Milvus API level this endpoint
// speaks, so that SDKs enable the features of that level.
const Version = "v2.6.0-raftvec"

// Config wires the endpoint to its node.
type Config struct {
	// API is the request layer shared with raftvec.v1 (an *rpc.Server).
	API pb.RaftVecServer
	// NodeID names this node in ServerInfo.
	NodeID string
	// Peers returns the raftvec API addresses of the other nodes, asked
	// for their part of the session table.
	Peers func() []string
	// Dial returns a connection to a peer's API (rpc.Server.Conn, which
	// carries the node's TLS identity).
	Dial func(addr string) (*grpc.ClientConn, error)
}

// Server implements milvuspb.MilvusServiceServer over Config.API. RPCs it
// does not implement answer UNIMPLEMENTED (docs/milvus-compatibility.md).
type Server struct {
	milvuspb.UnimplementedMilvusServiceServer
	api      pb.RaftVecServer
	cfg      Config
	sessions *sessions
	reqSeq   atomic.Uint64
	reqBase  string
}

// NewServer returns the endpoint.
func NewServer(cfg Config) *Server {
	if cfg.Peers == nil {
		cfg.Peers = func() []string { return nil }
	}
	if cfg.Dial == nil {
		cfg.Dial = func(addr string) (*grpc.ClientConn, error) {
			return nil, fmt.Errorf("milvus: no way to reach node %s", addr)
		}
	}
	return &Server{api: retrying{cfg.API}, cfg: cfg, sessions: newSessions(),
		reqBase: fmt.Sprintf("milvus-%s-%d", cfg.NodeID, time.Now().UnixNano())}
}

// Register adds the Milvus service to gs.
func (s *Server) Register(gs *grpc.Server) { milvuspb.RegisterMilvusServiceServer(gs, s) }

func (s *Server) peers() []SessionPeer {
	addrs := s.cfg.Peers()
	out := make([]SessionPeer, 0, len(addrs))
	for _, a := range addrs {
		c, err := s.cfg.Dial(a)
		if err != nil {
			out = append(out, failedPeer{err})
			continue
		}
		out = append(out, grpcPeer{c})
	}
	return out
}

type failedPeer struct{ err error }

func (p failedPeer) SessionTs(context.Context, int64) (uint64, time.Time, error) {
	return 0, time.Time{}, p.err
}

// requestID names one write for the request layer's de-duplication. The
// Milvus SDKs send no id of their own, so a retry by the SDK is a new
// request, as it is on Milvus.
func (s *Server) requestID() string {
	return fmt.Sprintf("%s-%d", s.reqBase, s.reqSeq.Add(1))
}

// --- connection and health ---

func (s *Server) Connect(ctx context.Context, req *milvuspb.ConnectRequest) (*milvuspb.ConnectResponse, error) {
	return &milvuspb.ConnectResponse{
		Status:     success(),
		Identifier: newIdentifier(time.Now()),
		ServerInfo: &commonpb.ServerInfo{BuildTags: Version, DeployMode: "raftvec", Reserved: map[string]string{"node": s.cfg.NodeID}},
	}, nil
}

func (s *Server) GetVersion(ctx context.Context, req *milvuspb.GetVersionRequest) (*milvuspb.GetVersionResponse, error) {
	return &milvuspb.GetVersionResponse{Status: success(), Version: Version}, nil
}

func (s *Server) CheckHealth(ctx context.Context, req *milvuspb.CheckHealthRequest) (*milvuspb.CheckHealthResponse, error) {
	if _, err := s.api.ListCollections(ctx, &pb.ListCollectionsRequest{}); err != nil {
		return &milvuspb.CheckHealthResponse{Status: success(), IsHealthy: false, Reasons: []string{statusOf(err).Reason}}, nil
	}
	return &milvuspb.CheckHealthResponse{Status: success(), IsHealthy: true}, nil
}
