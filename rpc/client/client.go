// Package client is the Go SDK of raftvec. A Client talks to any node of a
// cluster, follows leader hints, retries writes whose outcome is unknown
// with the same request id (so each applies once), and keeps the session
// token that SESSION reads need.
package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

// Client is safe for concurrent use.
type Client struct {
	addrs []string
	id    string
	seq   atomic.Uint64

	mu        sync.Mutex
	conns     map[string]*grpc.ClientConn
	preferred int
	session   uint64

	routes routes
	// metaIndex is the highest metadata index any node reported; every
	// request carries it so that DDL this client saw is known where it
	// goes next.
	metaIndex atomic.Uint64
	// Direct turns the routing table on: writes go straight to shard
	// leaders. On by default.
	direct bool

	creds credentials.TransportCredentials // nil: plaintext
	auth  secret                           // "": no credentials
}

// New returns a client for the nodes at addrs (host:port). It connects
// lazily.
func New(addrs []string, opts ...Option) (*Client, error) {
	if len(addrs) == 0 {
		return nil, errors.New("client: no node addresses")
	}
	var b [8]byte
	rand.Read(b[:])
	c := &Client{addrs: append([]string(nil), addrs...), id: hex.EncodeToString(b[:]), conns: map[string]*grpc.ClientConn{}, direct: true}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.conns {
		cc.Close()
	}
	c.conns = map[string]*grpc.ClientConn{}
	return nil
}

// SessionToken is the highest ts this client has written or read. Hand it
// to another client (SetSessionToken) to give that client read-your-writes
// of this one's writes.
func (c *Client) SessionToken() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// SetSessionToken raises the client's session token to t.
func (c *Client) SetSessionToken(t uint64) {
	c.mu.Lock()
	if t > c.session {
		c.session = t
	}
	c.mu.Unlock()
}

func (c *Client) conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.conns[addr]; ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, c.dialOptions()...)
	if err != nil {
		return nil, err
	}
	c.conns[addr] = cc
	return cc, nil
}

func (c *Client) current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[c.preferred%len(c.addrs)]
}

// follow makes addr the preferred node (adding it if it is new), or moves
// to the next node when addr is empty.
func (c *Client) follow(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if addr == "" {
		c.preferred = (c.preferred + 1) % len(c.addrs)
		return
	}
	for i, a := range c.addrs {
		if a == addr {
			c.preferred = i
			return
		}
	}
	c.addrs = append(c.addrs, addr)
	c.preferred = len(c.addrs) - 1
}

// withMetaIndex adds the highest metadata index seen to a request.
func (c *Client) withMetaIndex(ctx context.Context) context.Context {
	if i := c.metaIndex.Load(); i > 0 {
		return metadata.AppendToOutgoingContext(ctx, wire.MetaIndexKey, strconv.FormatUint(i, 10))
	}
	return ctx
}

func (c *Client) noteMetaIndex(md metadata.MD) {
	v := md.Get(wire.MetaIndexKey)
	if len(v) == 0 {
		return
	}
	i, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return
	}
	for {
		cur := c.metaIndex.Load()
		if i <= cur || c.metaIndex.CompareAndSwap(cur, i) {
			return
		}
	}
}

// NewRequestID returns a fresh request id.
func (c *Client) NewRequestID() string { return fmt.Sprintf("%s-%d", c.id, c.seq.Add(1)) }

// retriable reports whether a call may be retried: the node could not
// serve it (not leader, shutting down, unreachable) or the write's outcome
// is unknown, which the request id makes safe to retry.
func retriable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted:
		return true
	}
	return false
}

// call runs f against the preferred node, following leader hints and
// moving on to other nodes while the error is retriable and ctx allows.
func call[T any](ctx context.Context, c *Client, f func(pb.RaftVecClient, context.Context, ...grpc.CallOption) (T, error)) (T, error) {
	return callAttempts(ctx, c, f, nil)
}

// ErrOutcomeUnknown marks a write that may have been applied: an attempt
// ended without an answer (or with UNAVAILABLE), and a later attempt failed
// in a way that does not prove the first one was not applied. Retrying with
// the same request id is safe.
var ErrOutcomeUnknown = errors.New("write outcome unknown")

// callAttempts is call; for a write, unknown is non-nil. Once an attempt's
// outcome is unknown, a later attempt's refusal (for example a node that
// restarted and has not caught up on the collection's metadata answering
// NOT_FOUND) is not evidence that the write failed, so the error says the
// outcome is unknown. INVALID_ARGUMENT is the exception: it refuses the
// request itself, or comes from the shard leader's apply, which answers a
// request id it has seen from its dedup table first, so no earlier attempt
// of the same request was applied.
func callAttempts[T any](ctx context.Context, c *Client, f func(pb.RaftVecClient, context.Context, ...grpc.CallOption) (T, error), unknown *bool) (T, error) {
	backoff := 20 * time.Millisecond
	for {
		addr := c.current()
		cc, err := c.conn(addr)
		var out T
		if err == nil {
			var trailer metadata.MD
			out, err = f(pb.NewRaftVecClient(cc), c.withMetaIndex(ctx), grpc.Trailer(&trailer))
			c.noteMetaIndex(trailer)
			if err == nil {
				return out, nil
			}
			if !retriable(err) {
				if unknown != nil && *unknown && status.Code(err) != codes.InvalidArgument {
					return out, status.Errorf(codes.Unavailable, "%v: an earlier attempt may have been applied (retry with the same request id is safe); last error: %v", ErrOutcomeUnknown, err)
				}
				return out, err
			}
			if unknown != nil {
				*unknown = true
			}
			if hint := trailer.Get(wire.LeaderHintKey); len(hint) > 0 && hint[0] != addr {
				c.follow(hint[0])
				continue
			}
		}
		c.follow("")
		select {
		case <-ctx.Done():
			var zero T
			if err == nil {
				err = ctx.Err()
			}
			return zero, err
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

// CreateCollection creates a collection.
func (c *Client) CreateCollection(ctx context.Context, req *pb.CreateCollectionRequest) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.CreateCollectionResponse, error) {
		return r.CreateCollection(ctx, req, o...)
	})
	return err
}

// CreateSimple creates a collection with an int64 "id" key and a "vector"
// field of dim and metric.
func (c *Client) CreateSimple(ctx context.Context, name string, dim uint32, metric pb.Metric) error {
	return c.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: name}, Dim: dim, Metric: metric})
}

// DropCollection drops a collection.
func (c *Client) DropCollection(ctx context.Context, name string) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.DropCollectionResponse, error) {
		return r.DropCollection(ctx, &pb.DropCollectionRequest{Name: name}, o...)
	})
	return err
}

// ListCollections lists collection names.
func (c *Client) ListCollections(ctx context.Context) ([]string, error) {
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.ListCollectionsResponse, error) {
		return r.ListCollections(ctx, &pb.ListCollectionsRequest{}, o...)
	})
	if err != nil {
		return nil, err
	}
	return resp.Names, nil
}

// DescribeCollection describes a collection.
func (c *Client) DescribeCollection(ctx context.Context, name string) (*pb.DescribeCollectionResponse, error) {
	return call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.DescribeCollectionResponse, error) {
		return r.DescribeCollection(ctx, &pb.DescribeCollectionRequest{Name: name}, o...)
	})
}

// SetDirect turns the routing table (writes straight to shard leaders) on
// or off; with it off every request goes through the node it reaches.
func (c *Client) SetDirect(on bool) {
	c.mu.Lock()
	c.direct = on
	c.mu.Unlock()
}

func (c *Client) useDirect() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.direct
}

// write sets a request id (kept across retries, so the write applies once
// however often it is retried) and the session token, then sends the
// write: first straight to the shard leaders (fast), else through any node;
// it raises the session token to the write's ts.
func (c *Client) write(ctx context.Context, id *string, token *uint64, fast func() directResult, f func(pb.RaftVecClient, context.Context, ...grpc.CallOption) (*pb.WriteResponse, error)) (*pb.WriteResponse, error) {
	if *id == "" {
		*id = c.NewRequestID()
	}
	*token = max(*token, c.SessionToken())
	unknown := false
	if c.useDirect() {
		d := fast()
		switch {
		case d.resp != nil:
			c.SetSessionToken(d.resp.SessionToken)
			return d.resp, nil
		case d.err != nil:
			return nil, d.err
		}
		unknown = d.sent // a part may have been applied
	}
	resp, err := callAttempts(ctx, c, f, &unknown)
	if err == nil {
		c.SetSessionToken(resp.SessionToken)
	}
	return resp, err
}

// Insert inserts rows; a row whose key exists fails the whole batch.
func (c *Client) Insert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	return c.write(ctx, &req.RequestId, &req.SessionToken, func() directResult { return c.insertDirect(ctx, req, false) },
		func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.WriteResponse, error) {
			return r.Insert(ctx, req, o...)
		})
}

// Upsert inserts or replaces rows.
func (c *Client) Upsert(ctx context.Context, req *pb.InsertRequest) (*pb.WriteResponse, error) {
	return c.write(ctx, &req.RequestId, &req.SessionToken, func() directResult { return c.insertDirect(ctx, req, true) },
		func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.WriteResponse, error) {
			return r.Upsert(ctx, req, o...)
		})
}

// Delete deletes rows by primary key.
func (c *Client) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.WriteResponse, error) {
	return c.write(ctx, &req.RequestId, &req.SessionToken, func() directResult { return c.deleteDirect(ctx, req) },
		func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.WriteResponse, error) {
			return r.Delete(ctx, req, o...)
		})
}

// withSession fills in the session token of a read that names SESSION, or
// no level (the collection's default may be SESSION); the server uses the
// token only for SESSION reads.
func (c *Client) withSession(ro *pb.ReadOptions) *pb.ReadOptions {
	if ro == nil {
		ro = &pb.ReadOptions{}
	}
	if (ro.Level == pb.ConsistencyLevel_SESSION || ro.Level == pb.ConsistencyLevel_DEFAULT) && ro.SessionToken == 0 {
		ro.SessionToken = c.SessionToken()
	}
	return ro
}

// Get reads rows by primary key.
func (c *Client) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	req.Read = c.withSession(req.Read)
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.GetResponse, error) {
		return r.Get(ctx, req, o...)
	})
	if err == nil {
		c.SetSessionToken(resp.SessionToken)
	}
	return resp, err
}

// Search runs a top-k search.
func (c *Client) Search(ctx context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	req.Read = c.withSession(req.Read)
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.SearchResponse, error) {
		return r.Search(ctx, req, o...)
	})
	if err == nil {
		c.SetSessionToken(resp.SessionToken)
	}
	return resp, err
}

// Status returns the status of the node at addr (the preferred node when
// addr is empty).
func (c *Client) Status(ctx context.Context, addr string) (*pb.StatusResponse, error) {
	if addr == "" {
		return call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.StatusResponse, error) {
			return r.Status(ctx, &pb.StatusRequest{}, o...)
		})
	}
	cc, err := c.conn(addr)
	if err != nil {
		return nil, err
	}
	return pb.NewRaftVecClient(cc).Status(ctx, &pb.StatusRequest{})
}

// Join asks the cluster at the client's nodes to add a node.
func (c *Client) Join(ctx context.Context, req *pb.JoinRequest) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.JoinResponse, error) {
		cc, err := c.conn(c.current())
		if err != nil {
			return nil, err
		}
		return pb.NewAdminClient(cc).Join(ctx, req, o...)
	})
	return err
}

// AddReplica places a replica of a collection's shards on a node;
// MoveReplica starts moving a shard's voting replica from one node to
// another; it returns once the move is recorded (Status lists it until it
// finishes).
func (c *Client) MoveReplica(ctx context.Context, shard uint64, from, to string) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.MoveReplicaResponse, error) {
		cc, err := c.conn(c.current())
		if err != nil {
			return nil, err
		}
		return pb.NewAdminClient(cc).MoveReplica(ctx, &pb.MoveReplicaRequest{Shard: shard, FromNode: from, ToNode: to}, o...)
	})
	return err
}

// TransferLeader hands a shard's leadership to voter to (any up-to-date
// voter if empty) and returns the new leader.
func (c *Client) TransferLeader(ctx context.Context, shard uint64, to string) (string, error) {
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.TransferLeaderResponse, error) {
		cc, err := c.conn(c.current())
		if err != nil {
			return nil, err
		}
		return pb.NewAdminClient(cc).TransferLeader(ctx, &pb.TransferLeaderRequest{Shard: shard, ToNode: to}, o...)
	})
	if err != nil {
		return "", err
	}
	return resp.Leader, nil
}

// nonVoter makes it an analytics replica.
func (c *Client) AddReplica(ctx context.Context, collection, node string, nonVoter bool) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.AddReplicaResponse, error) {
		cc, err := c.conn(c.current())
		if err != nil {
			return nil, err
		}
		return pb.NewAdminClient(cc).AddReplica(ctx, &pb.AddReplicaRequest{Collection: collection, NodeId: node, NonVoter: nonVoter}, o...)
	})
	return err
}

// InjectFault sends a fault-injection request to the node at addr (which
// must run with --enable-fault-injection). It is not retried.
func (c *Client) InjectFault(ctx context.Context, addr string, req *pb.InjectFaultRequest) (*pb.InjectFaultResponse, error) {
	cc, err := c.conn(addr)
	if err != nil {
		return nil, err
	}
	return pb.NewAdminClient(cc).InjectFault(ctx, req)
}

// CreateIndex sets the index of a collection's sealed segments.
func (c *Client) CreateIndex(ctx context.Context, req *pb.CreateIndexRequest) error {
	if req.RequestId == "" {
		req.RequestId = c.NewRequestID()
	}
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.CreateIndexResponse, error) {
		return r.CreateIndex(ctx, req, o...)
	})
	if err == nil {
		c.SetSessionToken(resp.SessionToken)
	}
	return err
}

// DropIndex removes a collection's index.
func (c *Client) DropIndex(ctx context.Context, collection string) error {
	req := &pb.DropIndexRequest{Collection: collection, RequestId: c.NewRequestID()}
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.DropIndexResponse, error) {
		return r.DropIndex(ctx, req, o...)
	})
	if err == nil {
		c.SetSessionToken(resp.SessionToken)
	}
	return err
}

// DescribeIndex reports a collection's index and its build progress on the
// node that answers.
func (c *Client) DescribeIndex(ctx context.Context, collection string) (*pb.DescribeIndexResponse, error) {
	return call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.DescribeIndexResponse, error) {
		return r.DescribeIndex(ctx, &pb.DescribeIndexRequest{Collection: collection,
			Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION, SessionToken: c.SessionToken()}}, o...)
	})
}

// Query returns the rows that match a filter expression.
func (c *Client) Query(ctx context.Context, req *pb.QueryRequest) (*pb.QueryResponse, error) {
	req.Read = c.withSession(req.Read)
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.QueryResponse, error) {
		return r.Query(ctx, req, o...)
	})
	if err == nil {
		c.SetSessionToken(resp.SessionToken)
	}
	return resp, err
}

// CreatePartition adds a partition to a collection.
func (c *Client) CreatePartition(ctx context.Context, collection, name string) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.PartitionResponse, error) {
		return r.CreatePartition(ctx, &pb.PartitionRequest{Collection: collection, PartitionName: name}, o...)
	})
	return err
}

// DropPartition removes a partition and its rows.
func (c *Client) DropPartition(ctx context.Context, collection, name string) error {
	_, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.PartitionResponse, error) {
		return r.DropPartition(ctx, &pb.PartitionRequest{Collection: collection, PartitionName: name}, o...)
	})
	return err
}

// ListPartitions lists a collection's partitions.
func (c *Client) ListPartitions(ctx context.Context, collection string) ([]string, error) {
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.ListPartitionsResponse, error) {
		return r.ListPartitions(ctx, &pb.ListPartitionsRequest{Collection: collection}, o...)
	})
	if err != nil {
		return nil, err
	}
	return resp.Names, nil
}

// Compact merges a collection's sealed segments that hold deleted rows or
// are small, and returns how many were merged.
func (c *Client) Compact(ctx context.Context, collection string) (int, error) {
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.CompactResponse, error) {
		return r.Compact(ctx, &pb.CompactRequest{Collection: collection}, o...)
	})
	if err != nil {
		return 0, err
	}
	return int(resp.SegmentsMerged), nil
}
