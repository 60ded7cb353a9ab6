package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/armon/go-metrics"
	"go.opentelemetry.io/otel/trace"

	"github.com/raftvec/raftvec/auth"
	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
	"github.com/raftvec/raftvec/shard"
)

// MaxRequestBytes is the largest request the API accepts.
const MaxRequestBytes = wire.MaxRequestBytes

// forwardedKey marks a request one node forwarded to another, with how
// many hops it has made, so that it is
// forwarded at most once.
const forwardedKey = "raftvec-forwarded"

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", fsm.ErrInvalid, fmt.Sprintf(format, args...))
}

func msDuration(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

// Options configure a Server.
type Options struct {
	// FaultInjection enables the InjectFault admin call (the consistency
	// suite's partitions, clock skew and slow applies).
	FaultInjection bool
	// TLS, when set, serves every listener over TLS and makes this node's
	// connections to other nodes mutual TLS with its node certificate.
	TLS *certs.Store
	// Auth, when set, authenticates every request (which needs TLS) and
	// the request layer authorises it by the caller's roles.
	Auth *auth.Authenticator
	// TracerProvider, when set, traces every request and every call to
	// another node with it (rpc/tracing.go); nil turns tracing off.
	TracerProvider trace.TracerProvider
}

// Server serves the public API on one node.
type Server struct {
	pb.UnimplementedRaftVecServer
	pb.UnimplementedAdminServer
	host    *shard.Host
	opts    Options
	log     *slog.Logger
	tracing tracing

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn

	forwarded counter
}

type counter struct {
	mu sync.Mutex
	n  uint64
}

func (c *counter) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) get() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// NewServer returns the API server of a host.
func NewServer(h *shard.Host, o Options) *Server {
	s := &Server{host: h, opts: o, log: h.Config().Logger, tracing: newTracing(o.TracerProvider), conns: map[string]*grpc.ClientConn{}}
	h.SetMetaForwarder(s.forwardMeta)
	h.SetTsForwarder(s.forwardTs)
	h.SetReadIndexForwarder(s.readIndexFrom)
	return s
}

// Forwarded is how many requests this node forwarded to another node.
func (s *Server) Forwarded() uint64 { return s.forwarded.get() }

// GRPCServer returns a grpc.Server with the API, health and reflection
// services registered.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	gs := grpc.NewServer(append(s.ServerOptions(), opts...)...)
	pb.RegisterRaftVecServer(gs, s.Guarded())
	pb.RegisterAdminServer(gs, s)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("raftvec.v1.RaftVec", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return gs
}

// ServerOptions are the message limits, tracing (rpc/tracing.go) and
// interceptors (latency metrics, request size, the status catalogue) of
// every gRPC server of the node, the Milvus endpoint's included.
func (s *Server) ServerOptions() []grpc.ServerOption {
	opts := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(2 * MaxRequestBytes),
		grpc.MaxSendMsgSize(2 * MaxRequestBytes),
	}, s.tracing.serverOptions()...)
	// The metadata wait comes before authentication: a user created on
	// another node a moment ago must be known here before their forwarded
	// request is checked.
	chain := []grpc.UnaryServerInterceptor{measure, s.metaWait}
	streams := []grpc.StreamServerInterceptor{s.streamMetaWait}
	if s.opts.Auth != nil {
		// The raftvec.v1 methods are decided by the request layer
		// (guard.go); the rest need admin, except health.
		rules := map[string]string{
			"/grpc.health.v1.Health/":   "",
			"/raftvec.v1.Admin/":        fsm.PrivAdmin,
			"/raftvec.milvus.Sessions/": fsm.PrivAdmin,
			"/grpc.reflection.":         fsm.PrivAdmin,
		}
		chain = append(chain, s.opts.Auth.Unary(rules))
		streams = append(streams, s.opts.Auth.Stream(rules, "/raftvec.v1.RaftVec/"))
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(append(chain, sizeLimit, s.statusInterceptor)...))
	opts = append(opts, grpc.ChainStreamInterceptor(append(streams, streamStatus)...))
	if s.opts.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.opts.TLS.ServerConfig(false))))
	}
	return opts
}

// measure records every request's latency by method and status code
// (raftvec_rpc_request in /metrics).
func measure(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	metrics.MeasureSinceWithLabels([]string{"rpc", "request"}, start,
		[]metrics.Label{{Name: "method", Value: method}, {Name: "code", Value: status.Code(err).String()}})
	return resp, err
}

func sizeLimit(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if n := proto.Size(m); n > MaxRequestBytes {
			return nil, status.Errorf(codes.InvalidArgument, "request: %d bytes exceed the limit of %d bytes; split the batch", n, MaxRequestBytes)
		}
	}
	return handler(ctx, req)
}

// statusInterceptor maps errors to status codes and, for NotLeader, puts
// the leader's API address in a trailer for the SDK to follow; every
// answer carries the node's applied metadata index (see metaWait).
func (s *Server) statusInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	mi, _ := s.host.MetaGroup().Applied()
	grpc.SetTrailer(ctx, metadata.Pairs(metaIndexKey, strconv.FormatUint(mi, 10)))
	var nl *shard.NotLeaderError
	if errors.As(err, &nl) && nl.LeaderID != "" {
		if n, ok := s.host.Meta().Nodes[nl.LeaderID]; ok {
			grpc.SetTrailer(ctx, metadata.Pairs(wire.LeaderHintKey, n.APIAddr))
		}
	}
	return resp, toStatus(err)
}

// metaWait keeps metadata causal across nodes: a node that forwards a
// request (or a client that saw a metadata index) sends its applied
// metadata index, and the receiver first waits until it has applied as
// much, so a collection, partition or user the sender knows is known here
// too.
func (s *Server) metaWait(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.awaitMeta(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// awaitMeta waits until this node has applied the metadata index the
// caller sent, if it sent one.
func (s *Server) awaitMeta(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(metaIndexKey)
	if len(v) == 0 {
		return nil
	}
	idx, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return nil
	}
	// Bounded: a node cut off from the metadata group may never apply
	// idx, and the request must not sit here until its deadline;
	// UNAVAILABLE sends it elsewhere.
	wctx, cancel := context.WithTimeout(ctx, metaWaitLimit)
	err = s.host.MetaGroup().WaitApplied(wctx, idx)
	cancel()
	if err != nil && ctx.Err() == nil {
		have, _ := s.host.MetaGroup().Applied()
		return status.Errorf(codes.Unavailable, "node %s has applied metadata up to index %d, not %d, after %v (is it cut off from the metadata group?): retry on another node",
			s.host.NodeID(), have, idx, metaWaitLimit)
	}
	return toStatus(err)
}

// metaWaitLimit bounds metaWait.
const metaWaitLimit = 2 * time.Second

// forwardContext marks an outgoing request as forwarded by this node and
// carries this node's applied metadata index.
//
// The callee decides the request as for the caller's user, named in
// wire.OnBehalfKey (this node's certificate vouches for it).
func (s *Server) forwardContext(ctx context.Context) context.Context {
	mi, _ := s.host.MetaGroup().Applied()
	md := metadata.Pairs(forwardedKey, strconv.Itoa(hops(ctx)+1), metaIndexKey, strconv.FormatUint(mi, 10))
	if p := auth.FromContext(ctx); p != nil && p.User != "" {
		md.Set(wire.OnBehalfKey, p.User)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// maxHops bounds forwarding: a node without a replica of the shard sends
// the request to a replica (one hop), which sends it on to the leader if
// it is not the leader itself (two).
const maxHops = 2

// hops is how many times the request has been forwarded to reach here.
func hops(ctx context.Context) int {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(forwardedKey)
	if len(v) == 0 {
		return 0
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return maxHops // an older node's mark: do not forward again
	}
	return n
}

func isForwarded(ctx context.Context) bool { return hops(ctx) > 0 }

// collection looks a collection up in the metadata.
func (s *Server) collection(name string) (*fsm.CollectionInfo, error) {
	if name == "" {
		return nil, invalid("collection: name must not be empty")
	}
	c, ok := s.host.Meta().Collections[name]
	if !ok {
		if !s.host.MetaCaughtUp() {
			return nil, status.Errorf(codes.Unavailable, "collection %q is not known on node %s yet: its metadata is still loading", name, s.host.NodeID())
		}
		return nil, fmt.Errorf("%w: collection %q", fsm.ErrNotFound, name)
	}
	return c, nil
}

// pick returns the one shard a request is for: the shard it names (a
// request fanned out by another node), or the collection's only shard.
// multi is true when the request must be fanned out over several shards.
func pick(c *fsm.CollectionInfo, shardID uint64) (sh fsm.ShardPlacement, multi bool, err error) {
	if shardID != 0 {
		sh, ok := c.ShardByID(shardID)
		if !ok {
			return sh, false, fmt.Errorf("%w: shard %d of collection %q", fsm.ErrNotFound, shardID, c.Name)
		}
		return sh, false, nil
	}
	if len(c.Shards) == 1 {
		return c.Shards[0], false, nil
	}
	return fsm.ShardPlacement{}, true, nil
}

// onShard runs local on this node's replica of the shard; if there is none,
// or it answers NotLeader and leader is true, it forwards to the node that
// can answer.
func onShard[T any](ctx context.Context, s *Server, sh fsm.ShardPlacement, leader bool,
	local func(*shard.Replica) (T, error), remote func(pb.RaftVecClient, context.Context) (T, error)) (T, error) {
	r := s.host.Replica(sh.ID)
	var target string
	if r != nil {
		out, err := local(r)
		var nl *shard.NotLeaderError
		if !leader || !errors.As(err, &nl) {
			return out, err
		}
		if nl.LeaderID == "" || nl.LeaderID == s.host.NodeID() || hops(ctx) >= maxHops {
			return out, err
		}
		target = nl.LeaderID
	} else {
		if hops(ctx) >= maxHops-1 {
			var zero T
			return zero, fmt.Errorf("%w: shard %d", shard.ErrNoReplica, sh.ID)
		}
		target = sh.Voters[0]
	}
	return forward(ctx, s, target, remote)
}

// --- DDL ---

// metaCall proposes a metadata op here, or forwards the request to the
// metadata leader. After a forwarded success it waits until this node has
// applied the leader's metadata up to the op, so that the client's next
// request to this node sees what it just did.
func (s *Server) metaCall(ctx context.Context, op *fsm.MetaOp, remote func(*grpc.ClientConn, context.Context, grpc.CallOption) error) error {
	err := s.host.ProposeMeta(ctx, op)
	var nl *shard.NotLeaderError
	if !errors.As(err, &nl) || nl.LeaderID == "" || isForwarded(ctx) {
		return err
	}
	n, ok := s.host.Meta().Nodes[nl.LeaderID]
	if !ok {
		return err
	}
	c, cerr := s.conn(n.APIAddr)
	if cerr != nil {
		return cerr
	}
	s.forwarded.add()
	var trailer metadata.MD
	if err := remote(c, s.forwardContext(ctx), grpc.Trailer(&trailer)); err != nil {
		return err
	}
	if v := trailer.Get(metaIndexKey); len(v) > 0 {
		if idx, perr := strconv.ParseUint(v[0], 10, 64); perr == nil {
			return s.host.MetaGroup().WaitApplied(ctx, idx)
		}
	}
	return nil
}

// metaIndexKey carries metadata indexes between nodes and clients.
const metaIndexKey = wire.MetaIndexKey

// CreateCollection records the collection in the metadata and waits until
// its shard has a leader that has written the schema, so that writes sent
// right after succeed.
func (s *Server) CreateCollection(ctx context.Context, req *pb.CreateCollectionRequest) (*pb.CreateCollectionResponse, error) {
	sc := req.GetSchema()
	var schema *fsmpb.Schema
	switch {
	case sc == nil:
		return nil, invalid("schema: missing")
	case len(sc.Fields) == 0:
		if req.Dim == 0 {
			return nil, invalid("schema.fields: empty; give fields, or dim and metric for the simple schema")
		}
		schema = fsm.SimpleSchema(sc.Name, req.Dim, fsmpb.Metric(req.Metric), false)
	default:
		schema = schemaToFSM(sc)
	}
	schema.DefaultLevel = uint32(sc.GetDefaultConsistency())
	schema.AutoIdStart = req.AutoIdStart
	if schema.DefaultLevel > uint32(pb.ConsistencyLevel_EVENTUAL) {
		return nil, invalid("schema.default_consistency: %d is not a consistency level", schema.DefaultLevel)
	}
	if _, err := fsm.NewSchema(schema); err != nil {
		return nil, err
	}
	nodes := len(s.host.Meta().Nodes)
	if want := len(s.host.Config().Peers); nodes == 0 || (nodes < want && (req.Replicas == 0 || int(req.Replicas) > nodes)) {
		// The default replica count depends on the node count, and an
		// explicit one may need peers that have not registered yet: wait
		// until every static peer has.
		return nil, status.Errorf(codes.Unavailable, "the cluster is starting: %d of %d nodes registered", nodes, max(want, 1))
	}
	replicas := int(req.Replicas)
	if replicas == 0 {
		replicas = min(3, nodes)
	}
	if replicas < 1 || replicas > nodes {
		return nil, invalid("replicas (%d) must be between 1 and the number of nodes (%d)", replicas, nodes)
	}
	shards := int(req.Shards)
	if shards == 0 {
		shards = fsm.DefaultShards(nodes)
	}
	if shards > fsm.MaxShards {
		return nil, invalid("shards (%d) must be between 1 and %d", shards, fsm.MaxShards)
	}
	js, err := protojson.Marshal(schema)
	if err != nil {
		return nil, err
	}
	op := &fsm.MetaOp{CreateCollection: &fsm.MetaCreateCollection{Schema: js, Replicas: replicas, Shards: shards}}
	err = s.metaCall(ctx, op, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewRaftVecClient(c).CreateCollection(ctx, req, o)
		return err
	})
	if errors.Is(err, fsm.ErrAlreadyExists) {
		return nil, status.Errorf(codes.AlreadyExists, "collection %q already exists", schema.Name)
	}
	if err != nil {
		return nil, err
	}
	return &pb.CreateCollectionResponse{}, s.waitReady(ctx, schema.Name)
}

// waitReady waits until every shard of the collection answers a STRONG
// read.
func (s *Server) waitReady(ctx context.Context, name string) error {
	// The probes are this node's own requests, free to be forwarded even
	// when the CreateCollection that led here was itself forwarded.
	ctx = own(ctx)
	for {
		c, err := s.collection(name)
		ready := err == nil
		if ready {
			for _, sh := range c.Shards {
				_, err := s.Get(ctx, &pb.GetRequest{Collection: name, ShardId: sh.ID, IntIds: []int64{0}})
				st, _ := status.FromError(toStatus(err))
				if err != nil && st.Code() != codes.InvalidArgument { // InvalidArgument: ready, the key type differs
					ready = false
					break
				}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("collection %q was created but its shards are not all serving yet: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) DropCollection(ctx context.Context, req *pb.DropCollectionRequest) (*pb.DropCollectionResponse, error) {
	if _, err := s.collection(req.Name); err != nil {
		return nil, err
	}
	err := s.metaCall(ctx, &fsm.MetaOp{DropCollection: req.Name}, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewRaftVecClient(c).DropCollection(ctx, req, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pb.DropCollectionResponse{}, nil
}

func (s *Server) ListCollections(ctx context.Context, req *pb.ListCollectionsRequest) (*pb.ListCollectionsResponse, error) {
	out := &pb.ListCollectionsResponse{}
	for name := range s.host.Meta().Collections {
		out.Names = append(out.Names, name)
	}
	sort.Strings(out.Names)
	return out, nil
}

func (s *Server) DescribeCollection(ctx context.Context, req *pb.DescribeCollectionRequest) (*pb.DescribeCollectionResponse, error) {
	c, err := s.collection(req.Name)
	if err != nil {
		return nil, err
	}
	sc, err := c.SchemaProto()
	if err != nil {
		return nil, err
	}
	out := &pb.DescribeCollectionResponse{Schema: schemaFromFSM(sc)}
	for _, sh := range c.Shards {
		info := &pb.ShardInfo{Id: sh.ID, Replicas: append(append([]string{}, sh.Voters...), sh.NonVoters...)}
		if r := s.host.Replica(sh.ID); r != nil {
			info.Leader, _ = r.Group().LeaderHint()
			out.Rows += uint64(r.FSM().Stats().LiveRows)
		}
		out.Shards = append(out.Shards, info)
	}
	return out, nil
}

// --- writes ---

func writeResponse(r *fsmpb.Result) *pb.WriteResponse {
	return &pb.WriteResponse{Ts: r.Ts, SessionToken: r.Ts, Inserted: r.Inserted, Deleted: r.Deleted, AutoIds: r.AutoIds}
}

func (s *Server) insert(ctx context.Context, req *pb.InsertRequest, upsert bool) (*pb.WriteResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	if req.Rows == nil {
		return nil, invalid("rows: missing")
	}
	part, err := c.PartitionID(req.PartitionName)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return s.fanInsert(ctx, c, req, upsert)
	}
	return onShard(ctx, s, sh, true,
		func(r *shard.Replica) (*pb.WriteResponse, error) {
			res, err := r.Insert(ctx, rowsInput(req), part, upsert, req.RequestId, req.SessionToken)
			if err != nil {
				return nil, err
			}
			return writeResponse(res), nil
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.WriteResponse, error) {
			if upsert {
				return c.Upsert(ctx, req)
			}
			return c.Insert(ctx, req)
		})
}

func (s *Server) Insert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	return s.insert(ctx, req, false)
}

func (s *Server) Upsert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	return s.insert(ctx, req, true)
}

func (s *Server) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.WriteResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	byFilter := req.Filter != "" || len(req.PartitionNames) > 0
	if byFilter && len(req.IntIds)+len(req.StrIds) > 0 {
		return nil, invalid("delete: give ids or a filter (with partition_names), not both")
	}
	parts, err := c.PartitionIDs(req.PartitionNames)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return s.fanDelete(ctx, c, req)
	}
	return onShard(ctx, s, sh, true,
		func(r *shard.Replica) (*pb.WriteResponse, error) {
			var res *fsmpb.Result
			var err error
			if byFilter {
				var f fsm.Filter
				if f, err = compileFilter(r, req.Filter, parts); err != nil {
					return nil, err
				}
				res, err = r.DeleteByFilter(ctx, f, req.RequestId, req.SessionToken)
			} else {
				res, err = r.Delete(ctx, req.IntIds, req.StrIds, req.RequestId, req.SessionToken)
			}
			if err != nil {
				return nil, err
			}
			return writeResponse(res), nil
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.WriteResponse, error) { return c.Delete(ctx, req) })
}

// --- reads ---

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		u := math.Float32bits(x)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

func (s *Server) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	ro, err := readOptions(req.Read, c)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return againIfOvertaken(ro, func() (*pb.GetResponse, error) { return s.fanGet(ctx, c, req, ro) })
	}
	return onShard(ctx, s, sh, ro.Level == shard.Strong,
		func(r *shard.Replica) (*pb.GetResponse, error) {
			sc := r.FSM().Schema()
			if sc == nil {
				return nil, fsm.ErrNotReady
			}
			if err := sc.ValidateDeleteKeys(req.IntIds, req.StrIds, fsm.Limits{MaxBatchRows: fsm.DefaultLimits().MaxBatchRows}); err != nil {
				return nil, err
			}
			rows, ts, err := r.Get(ctx, ro, req.IntIds, req.StrIds, req.OutputFields)
			if err != nil {
				return nil, err
			}
			return &pb.GetResponse{Rows: rowsToPB(rows, req.OutputFields, sc.Vector.Name), Ts: ts, SessionToken: max(ts, ro.SessionToken)}, nil
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.GetResponse, error) { return c.Get(ctx, req) })
}

func rowsToPB(rows []fsm.Row, fields []string, vectorName string) *pb.Rows {
	out := &pb.Rows{}
	cols := make([]*pb.FieldColumn, 0, len(fields))
	for _, f := range fields {
		if f == fsm.VectorField || f == vectorName {
			continue
		}
		cols = append(cols, &pb.FieldColumn{Name: f})
	}
	for _, r := range rows {
		if r.StrPK != "" {
			out.StrIds = append(out.StrIds, r.StrPK)
		} else {
			out.IntIds = append(out.IntIds, r.IntPK)
		}
		out.Vectors = append(out.Vectors, r.Vector...)
		for i, v := range r.Fields {
			if i < len(cols) {
				cols[i].Values = append(cols[i].Values, valueFromFSM(v))
			}
		}
	}
	out.Fields = cols
	return out
}

func (s *Server) Search(ctx context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	ro, err := readOptions(req.Read, c)
	if err != nil {
		return nil, err
	}
	if req.TopK < 1 || req.TopK > fsm.MaxTopK {
		return nil, invalid("top_k (%d) must be between 1 and %d", req.TopK, fsm.MaxTopK)
	}
	parts, err := c.PartitionIDs(req.PartitionNames)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return againIfOvertaken(ro, func() (*pb.SearchResponse, error) { return s.fanSearch(ctx, c, req, ro) })
	}
	return onShard(ctx, s, sh, ro.Level == shard.Strong,
		func(r *shard.Replica) (*pb.SearchResponse, error) {
			sc := r.FSM().Schema()
			if sc == nil {
				return nil, fsm.ErrNotReady
			}
			if len(req.Vectors) == 0 || len(req.Vectors)%sc.Dim != 0 {
				return nil, invalid("vectors: got %d floats; want one or more query vectors of dim %d", len(req.Vectors), sc.Dim)
			}
			f, err := compileFilter(r, req.Filter, parts)
			if err != nil {
				return nil, err
			}
			sr := fsm.SearchRequest{Vectors: req.Vectors, TopK: int(req.TopK), Offset: int(req.Offset), OutputFields: req.OutputFields,
				Params: index.SearchParams{Ef: int(req.Ef), Nprobe: int(req.Nprobe), Refine: int(req.Refine)}, Filter: f}
			if req.Radius != nil {
				sr.Range = distRange(sc, req.GetRadius(), req.RangeFilter)
			}
			res, ts, err := r.Search(ctx, ro, sr)
			if err != nil {
				return nil, err
			}
			out := &pb.SearchResponse{OutputFields: req.OutputFields, Ts: ts, SessionToken: max(ts, ro.SessionToken)}
			for _, hits := range res {
				hl := &pb.HitList{}
				for _, h := range hits {
					hit := &pb.Hit{IntId: h.IntPK, StrId: h.StrPK, Score: sc.Metric.Score(h.Dist)}
					for _, v := range h.Fields {
						hit.Fields = append(hit.Fields, valueFromFSM(v))
					}
					if h.Vector != nil {
						hit.Vector = encodeVector(h.Vector)
					}
					hl.Hits = append(hl.Hits, hit)
				}
				out.Results = append(out.Results, hl)
			}
			return out, nil
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.SearchResponse, error) { return c.Search(ctx, req) })
}

// --- status and admin ---

func (s *Server) Status(ctx context.Context, req *pb.StatusRequest) (*pb.StatusResponse, error) {
	st := s.host.Meta()
	out := &pb.StatusResponse{Node: s.host.NodeID(), Kernel: index.KernelLevel(), IndexBuilder: s.host.IndexBuilder()}
	ids := make([]string, 0, len(st.Nodes))
	for id := range st.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	load := st.Load()
	leaders := s.host.LeadersByNode()
	roles := map[string]string{}
	if cf := s.host.MetaGroup().Raft().GetConfiguration(); cf.Error() == nil {
		for _, srv := range cf.Configuration().Servers {
			roles[string(srv.ID)] = strings.ToLower(srv.Suffrage.String())
		}
	}
	for _, id := range ids {
		n := st.Nodes[id]
		state, since := fsm.NodeAlive, int64(0)
		if h, ok := st.Health[id]; ok {
			state, since = h.State, h.Since
		}
		out.Nodes = append(out.Nodes, &pb.NodeStatus{Id: n.ID, ApiAddr: n.APIAddr, RaftAddr: n.RaftAddr, State: state,
			StateSinceUnixMs: since, ShardsHeld: uint32(load[id]), MetadataRole: roles[id], LeadersHeld: uint32(leaders[id])})
	}
	names := make([]string, 0, len(st.Collections))
	for name := range st.Collections {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, sh := range st.Collections[name].Shards {
			if mv := sh.Move; mv != nil {
				out.Moves = append(out.Moves, &pb.MoveStatus{Shard: sh.ID, Collection: name, From: mv.From, To: mv.To,
					Reason: mv.Reason, Ready: mv.Ready, StartedUnixMs: mv.Started})
			}
		}
	}
	mg := s.host.MetaGroup()
	mi, _ := mg.Applied()
	leader, _ := mg.LeaderHint()
	out.Groups = append(out.Groups, &pb.GroupStatus{Group: shard.MetaGroup, Node: s.host.NodeID(),
		Role: mg.Raft().State().String(), Leader: leader, Term: mg.Raft().CurrentTerm(), AppliedIndex: mi, CommitIndex: mg.Raft().CommitIndex()})
	for _, r := range s.host.Replicas() {
		rs := r.Status()
		out.Groups = append(out.Groups, &pb.GroupStatus{
			Group: rs.Group, Collection: r.FSM().Stats().Collection, Node: s.host.NodeID(), Role: rs.Role, Leader: rs.LeaderID,
			Term: rs.Term, AppliedIndex: rs.Applied, CommitIndex: rs.Commit, SafeTs: rs.SafeTs,
			Segments: uint32(rs.Segments), Rows: uint64(rs.Rows), Digest: rs.Digest,
			Suffrage: rs.Suffrage, LagMs: s.host.Clock().Now().Sub(shard.TsTime(rs.SafeTs)).Milliseconds(),
			SealedSegments: uint32(rs.Sealed), IndexedSegments: uint32(rs.Indexed),
		})
	}
	return out, nil
}

func (s *Server) Join(ctx context.Context, req *pb.JoinRequest) (*pb.JoinResponse, error) {
	if req.NodeId == "" || req.RaftAddr == "" || req.ApiAddr == "" {
		return nil, invalid("node_id, raft_addr and api_addr must all be set")
	}
	n := fsm.NodeInfo{ID: req.NodeId, RaftAddr: req.RaftAddr, APIAddr: req.ApiAddr}
	err := s.host.Join(ctx, n)
	var nl *shard.NotLeaderError
	if errors.As(err, &nl) && nl.LeaderID != "" && !isForwarded(ctx) {
		if ln, ok := s.host.Meta().Nodes[nl.LeaderID]; ok {
			c, cerr := s.conn(ln.APIAddr)
			if cerr != nil {
				return nil, cerr
			}
			return pb.NewAdminClient(c).Join(s.forwardContext(ctx), req)
		}
	}
	if err != nil {
		return nil, err
	}
	return &pb.JoinResponse{}, nil
}

// AddReplica places a non-voting (analytics) replica of a collection's
// shards on a node. Adding voters is the placement driver's job.
func (s *Server) AddReplica(ctx context.Context, req *pb.AddReplicaRequest) (*pb.AddReplicaResponse, error) {
	if !req.NonVoter {
		return nil, status.Error(codes.Unimplemented, "adding a voter by hand is not supported; use --non-voter for an analytics replica")
	}
	if _, err := s.collection(req.Collection); err != nil {
		return nil, err
	}
	if _, ok := s.host.Meta().Nodes[req.NodeId]; !ok {
		return nil, fmt.Errorf("%w: node %q", fsm.ErrNotFound, req.NodeId)
	}
	op := &fsm.MetaOp{AddNonVoter: &fsm.MetaReplica{Collection: req.Collection, Node: req.NodeId}}
	err := s.metaCall(ctx, op, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewAdminClient(c).AddReplica(ctx, req, o)
		return err
	})
	if errors.Is(err, fsm.ErrAlreadyExists) {
		return nil, status.Error(codes.AlreadyExists, err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &pb.AddReplicaResponse{}, nil
}

// MoveReplica starts moving a shard's voter to another node; the
// placement steps then run on their own (status shows the move).
func (s *Server) MoveReplica(ctx context.Context, req *pb.MoveReplicaRequest) (*pb.MoveReplicaResponse, error) {
	if req.Shard == 0 || req.FromNode == "" || req.ToNode == "" {
		return nil, invalid("shard, from_node and to_node must all be set")
	}
	op := &fsm.MetaOp{StartMove: &fsm.MetaMove{Shard: req.Shard,
		Move: fsm.Move{From: req.FromNode, To: req.ToNode, Reason: "operator", Started: time.Now().UnixMilli()}}}
	err := s.metaCall(ctx, op, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewAdminClient(c).MoveReplica(ctx, req, o)
		return err
	})
	if errors.Is(err, fsm.ErrAlreadyExists) {
		return nil, status.Error(codes.AlreadyExists, err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &pb.MoveReplicaResponse{}, nil
}

// TransferLeader hands a shard's leadership to another voter; a node that
// does not lead the shard forwards the request to the one that does.
func (s *Server) TransferLeader(ctx context.Context, req *pb.TransferLeaderRequest) (*pb.TransferLeaderResponse, error) {
	if req.Shard == 0 {
		return nil, invalid("shard must be set")
	}
	r := s.host.Replica(req.Shard)
	if r == nil {
		st := s.host.Meta()
		_, sh := st.Shard(req.Shard)
		if sh == nil {
			return nil, fmt.Errorf("%w: shard %d", fsm.ErrNotFound, req.Shard)
		}
		return nil, status.Errorf(codes.Unavailable, "shard %d: no replica on this node; send the request to one of %v", req.Shard, sh.Voters)
	}
	if !r.Group().IsLeader() {
		if isForwarded(ctx) {
			return nil, status.Errorf(codes.Unavailable, "shard %d: this node does not lead it", req.Shard)
		}
		leader, _ := r.Group().LeaderHint()
		n, ok := s.host.Meta().Nodes[leader]
		if !ok {
			return nil, status.Errorf(codes.Unavailable, "shard %d: no known leader", req.Shard)
		}
		c, err := s.conn(n.APIAddr)
		if err != nil {
			return nil, err
		}
		s.forwarded.add()
		return pb.NewAdminClient(c).TransferLeader(s.forwardContext(ctx), req)
	}
	if req.ToNode != "" {
		st := s.host.Meta()
		if _, sh := st.Shard(req.Shard); sh == nil || !slices.Contains(sh.Voters, req.ToNode) {
			return nil, invalid("to_node: %q is not a voter of shard %d", req.ToNode, req.Shard)
		}
	}
	if req.ToNode == s.host.NodeID() {
		return &pb.TransferLeaderResponse{Leader: req.ToNode}, nil // already there
	}
	if err := r.Group().TransferLeadership(req.ToNode); err != nil {
		return nil, status.Errorf(codes.Unavailable, "shard %d: leadership transfer: %v", req.Shard, err)
	}
	// Report the new leader once this node has heard from it.
	for i := 0; i < 100; i++ {
		if leader, _ := r.Group().LeaderHint(); leader != "" && leader != s.host.NodeID() {
			return &pb.TransferLeaderResponse{Leader: leader}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	leader, _ := r.Group().LeaderHint()
	return &pb.TransferLeaderResponse{Leader: leader}, nil
}

// ProposeMeta accepts, from another node, a placement step it observed.
func (s *Server) ProposeMeta(ctx context.Context, req *pb.ProposeMetaRequest) (*pb.ProposeMetaResponse, error) {
	var op fsm.MetaOp
	if err := json.Unmarshal(req.Op, &op); err != nil {
		return nil, invalid("op: %v", err)
	}
	if op.AddNode == nil && op.SetHealth == nil && op.StartMove == nil && op.MoveReady == nil && op.FinishMove == nil && !op.IsAuthOp() {
		return nil, invalid("op: only placement steps (add_node, set_health, start_move, move_ready, finish_move) and user and role ops may be proposed this way")
	}
	if op.IsAuthOp() && s.opts.Auth == nil {
		// Users made while nobody is checked would stop root from being
		// bootstrapped once --auth is turned on.
		return nil, status.Error(codes.FailedPrecondition, "op: users and roles need authentication on (--auth) on this node")
	}
	err := s.metaCall(ctx, &op, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewAdminClient(c).ProposeMeta(ctx, req, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pb.ProposeMetaResponse{}, nil
}

// ProposeOp proposes a metadata op on the metadata leader, wherever it
// is, as this node: the caller has decided that the op is allowed (the
// Auth service checks its caller's privileges before it proposes).
func (s *Server) ProposeOp(ctx context.Context, op *fsm.MetaOp) error {
	return s.forwardMeta(auth.NewContext(ctx, &auth.Principal{Node: s.host.NodeID()}), op)
}

// forwardMeta is the host's way to propose a placement step from a node
// that does not lead the metadata group.
func (s *Server) forwardMeta(ctx context.Context, op *fsm.MetaOp) error {
	b, err := fsm.EncodeMetaOp(op)
	if err != nil {
		return err
	}
	_, err = s.ProposeMeta(ctx, &pb.ProposeMetaRequest{Op: b})
	return err
}

// InjectFault cuts Raft links, skews the clock or slows applies on this
// node. Refused unless the server runs with fault injection enabled.
func (s *Server) InjectFault(ctx context.Context, req *pb.InjectFaultRequest) (*pb.InjectFaultResponse, error) {
	if !s.opts.FaultInjection {
		return nil, status.Error(codes.PermissionDenied, "fault injection is disabled on this node (start it with --enable-fault-injection)")
	}
	mux := s.host.Mux()
	if req.UnblockAll {
		for _, a := range mux.Blocked() {
			mux.Block(a, false)
		}
	}
	for _, a := range req.UnblockRaftAddrs {
		mux.Block(a, false)
	}
	for _, a := range req.BlockRaftAddrs {
		mux.Block(a, true)
	}
	if req.SetClockOffset {
		s.host.Clock().SetOffset(time.Duration(req.ClockOffsetMs) * time.Millisecond)
	}
	if req.SetApplyDelay {
		s.host.SetApplyDelay(time.Duration(req.ApplyDelayMs) * time.Millisecond)
	}
	return &pb.InjectFaultResponse{BlockedRaftAddrs: mux.Blocked()}, nil
}

// CreateIndex sets the index every sealed segment of the collection gets;
// replicas build them in the background. Until a segment's index is built
// it is searched exactly.
func (s *Server) CreateIndex(ctx context.Context, req *pb.CreateIndexRequest) (*pb.CreateIndexResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	spec := &fsmpb.IndexSpec{Field: req.FieldName, Type: strings.ToUpper(req.IndexType), M: req.M, EfConstruction: req.EfConstruction, Nlist: req.Nlist, PqM: req.PqM}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.CreateIndexResponse, error) {
			sub := proto.Clone(req).(*pb.CreateIndexRequest)
			sub.ShardId, sub.RequestId = sh.ID, subID(req.RequestId, sh.ID)
			return s.CreateIndex(ctx, sub)
		}, func(out []*pb.CreateIndexResponse) *pb.CreateIndexResponse {
			r := &pb.CreateIndexResponse{}
			for _, o := range out {
				r.SessionToken = max(r.SessionToken, o.SessionToken)
			}
			return r
		})
	}
	return onShard(ctx, s, sh, true,
		func(r *shard.Replica) (*pb.CreateIndexResponse, error) {
			ts, err := r.CreateIndex(ctx, spec, req.RequestId)
			return &pb.CreateIndexResponse{SessionToken: ts}, err
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.CreateIndexResponse, error) {
			return c.CreateIndex(ctx, req)
		})
}

// DropIndex removes the collection's index.
func (s *Server) DropIndex(ctx context.Context, req *pb.DropIndexRequest) (*pb.DropIndexResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.DropIndexResponse, error) {
			sub := proto.Clone(req).(*pb.DropIndexRequest)
			sub.ShardId, sub.RequestId = sh.ID, subID(req.RequestId, sh.ID)
			return s.DropIndex(ctx, sub)
		}, func(out []*pb.DropIndexResponse) *pb.DropIndexResponse {
			r := &pb.DropIndexResponse{}
			for _, o := range out {
				r.SessionToken = max(r.SessionToken, o.SessionToken)
			}
			return r
		})
	}
	return onShard(ctx, s, sh, true,
		func(r *shard.Replica) (*pb.DropIndexResponse, error) {
			ts, err := r.DropIndex(ctx, req.RequestId)
			return &pb.DropIndexResponse{SessionToken: ts}, err
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.DropIndexResponse, error) {
			return c.DropIndex(ctx, req)
		})
}

// DescribeIndex reports the index spec and the build progress on the node
// that answers.
func (s *Server) DescribeIndex(ctx context.Context, req *pb.DescribeIndexRequest) (*pb.DescribeIndexResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	ro, err := readOptions(req.Read, c)
	if err != nil {
		return nil, err
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.DescribeIndexResponse, error) {
			sub := proto.Clone(req).(*pb.DescribeIndexRequest)
			sub.ShardId = sh.ID
			return s.DescribeIndex(ctx, sub)
		}, func(out []*pb.DescribeIndexResponse) *pb.DescribeIndexResponse {
			r := proto.Clone(out[0]).(*pb.DescribeIndexResponse)
			r.SealedSegments, r.IndexedSegments = 0, 0
			for _, o := range out {
				r.SealedSegments += o.SealedSegments
				r.IndexedSegments += o.IndexedSegments
			}
			return r
		})
	}
	return onShard(ctx, s, sh, ro.Level == shard.Strong,
		func(r *shard.Replica) (*pb.DescribeIndexResponse, error) {
			if _, err := r.ReadTs(ctx, ro); err != nil {
				return nil, err
			}
			out := &pb.DescribeIndexResponse{Builder: s.host.IndexBuilder(), Node: s.host.NodeID()}
			if sc := r.FSM().Schema(); sc != nil {
				out.FieldName = sc.Vector.Name
				if p := r.FSM().IndexSpec(); p != nil {
					if spec, err := fsm.IndexSpecFromProto(p, sc.Metric, sc.Dim); err == nil {
						out.IndexType = spec.Type.String()
						out.M, out.EfConstruction, out.Nlist = uint32(spec.Params.M), uint32(spec.Params.EfConstruction), uint32(spec.Params.Nlist)
						out.PqM = uint32(spec.Params.PQM)
					}
				}
			}
			sealed, indexed := r.FSM().IndexProgress()
			out.SealedSegments, out.IndexedSegments = uint32(sealed), uint32(indexed)
			return out, nil
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.DescribeIndexResponse, error) {
			return c.DescribeIndex(ctx, req)
		})
}

// compileFilter compiles a request's filter against the replica's schema.
func compileFilter(r *shard.Replica, text string, parts []uint32) (fsm.Filter, error) {
	f := fsm.Filter{Partitions: parts}
	if text == "" {
		return f, nil
	}
	sc := r.FSM().Schema()
	if sc == nil {
		return f, fsm.ErrNotReady
	}
	p, err := sc.CompileFilter(text)
	if err != nil {
		return f, err
	}
	f.Expr = p
	return f, nil
}

// distRange turns a range search's radius and range filter (in the
// metric's score terms) into a distance range. L2 scores are distances:
// range_filter <= d < radius. IP and COSINE scores are similarities, whose
// distance is their negation: radius < s <= range_filter.
func distRange(sc *fsm.Schema, radius float32, rangeFilter *float32) *fsm.DistRange {
	inf := float32(math.Inf(1))
	if sc.Metric == index.L2 {
		r := &fsm.DistRange{Lo: float32(math.Inf(-1)), Hi: radius}
		if rangeFilter != nil {
			r.Lo = *rangeFilter
		}
		return r
	}
	r := &fsm.DistRange{Lo: -inf, Hi: -radius}
	if rangeFilter != nil {
		r.Lo = -*rangeFilter
	}
	return r
}

// Query returns the rows that match a filter.
func (s *Server) Query(ctx context.Context, req *pb.QueryRequest) (*pb.QueryResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	ro, err := readOptions(req.Read, c)
	if err != nil {
		return nil, err
	}
	parts, err := c.PartitionIDs(req.PartitionNames)
	if err != nil {
		return nil, err
	}
	limit := int(req.Limit)
	if limit == 0 {
		limit = fsm.MaxQueryRow
	}
	sh, multi, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	if multi {
		return againIfOvertaken(ro, func() (*pb.QueryResponse, error) { return s.fanQuery(ctx, c, req, ro) })
	}
	return onShard(ctx, s, sh, ro.Level == shard.Strong,
		func(r *shard.Replica) (*pb.QueryResponse, error) {
			sc := r.FSM().Schema()
			if sc == nil {
				return nil, fsm.ErrNotReady
			}
			f, err := compileFilter(r, req.Filter, parts)
			if err != nil {
				return nil, err
			}
			rows, ts, err := r.Query(ctx, ro, fsm.QueryRequest{Filter: f, OutputFields: req.OutputFields, Limit: limit, Offset: int(req.Offset)})
			if err != nil {
				return nil, err
			}
			return &pb.QueryResponse{Rows: rowsToPB(rows, req.OutputFields, sc.Vector.Name), Ts: ts, SessionToken: max(ts, ro.SessionToken)}, nil
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.QueryResponse, error) { return c.Query(ctx, req) })
}

// CreatePartition adds a partition to a collection.
func (s *Server) CreatePartition(ctx context.Context, req *pb.PartitionRequest) (*pb.PartitionResponse, error) {
	if _, err := s.collection(req.Collection); err != nil {
		return nil, err
	}
	if err := fsm.ValidateName("partition_name", req.PartitionName); err != nil {
		return nil, err
	}
	op := &fsm.MetaOp{CreatePartition: &fsm.MetaPartition{Collection: req.Collection, Name: req.PartitionName}}
	err := s.metaCall(ctx, op, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewRaftVecClient(c).CreatePartition(ctx, req, o)
		return err
	})
	if errors.Is(err, fsm.ErrAlreadyExists) {
		return nil, status.Errorf(codes.AlreadyExists, "partition %q of collection %q already exists", req.PartitionName, req.Collection)
	}
	if err != nil {
		return nil, err
	}
	return &pb.PartitionResponse{}, nil
}

// DropPartition deletes a partition's rows, then its name. A failure in
// between leaves a partition that can be dropped again, never rows that no
// name reaches.
func (s *Server) DropPartition(ctx context.Context, req *pb.PartitionRequest) (*pb.PartitionResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	id, err := c.PartitionID(req.PartitionName)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, invalid("partition_name: the default partition cannot be dropped")
	}
	// This node's own delete request, free to be routed to the shard leader.
	own := metadata.NewIncomingContext(ctx, metadata.MD{})
	if _, err := s.Delete(own, &pb.DeleteRequest{Collection: req.Collection, PartitionNames: []string{req.PartitionName}}); err != nil {
		return nil, err
	}
	op := &fsm.MetaOp{DropPartition: &fsm.MetaPartition{Collection: req.Collection, Name: req.PartitionName}}
	err = s.metaCall(ctx, op, func(c *grpc.ClientConn, ctx context.Context, o grpc.CallOption) error {
		_, err := pb.NewRaftVecClient(c).DropPartition(ctx, req, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pb.PartitionResponse{}, nil
}

// ListPartitions lists a collection's partitions.
func (s *Server) ListPartitions(ctx context.Context, req *pb.ListPartitionsRequest) (*pb.ListPartitionsResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	out := &pb.ListPartitionsResponse{Names: []string{fsm.DefaultPartition}}
	for name := range c.Partitions {
		if name != fsm.DefaultPartition {
			out.Names = append(out.Names, name)
		}
	}
	sort.Strings(out.Names[1:])
	return out, nil
}
