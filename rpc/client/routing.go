package client

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

// The routing table: per collection, its shards in routing order and each
// shard's leader. With it the client splits a write by primary key and
// sends each shard its part straight to that shard's leader, as the server
// would, under the same per-shard request ids, so that falling back to a
// server-routed retry of the whole request cannot apply a part twice. Any
// failure on the direct path drops the table and falls back; the next
// request fetches a fresh one.

// routeTTL bounds how long a routing table is trusted without a failure.
const routeTTL = 30 * time.Second

type routing struct {
	shards  []*pb.ShardRoute
	varchar bool
	fetched time.Time
}

type routes struct {
	mu sync.Mutex
	m  map[string]*routing
}

func (c *Client) routing(ctx context.Context, coll string) *routing {
	c.routes.mu.Lock()
	rt := c.routes.m[coll]
	c.routes.mu.Unlock()
	if rt != nil && time.Since(rt.fetched) < routeTTL {
		return rt
	}
	resp, err := call(ctx, c, func(r pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (*pb.GetRoutingResponse, error) {
		return r.GetRouting(ctx, &pb.GetRoutingRequest{Collection: coll}, o...)
	})
	if err != nil || len(resp.Shards) == 0 {
		return nil
	}
	for _, sh := range resp.Shards {
		if sh.LeaderAddr == "" {
			return nil // an election is under way: let the server route
		}
	}
	rt = &routing{shards: resp.Shards, varchar: resp.VarcharPk, fetched: time.Now()}
	c.routes.mu.Lock()
	if c.routes.m == nil {
		c.routes.m = map[string]*routing{}
	}
	c.routes.m[coll] = rt
	c.routes.mu.Unlock()
	return rt
}

func (c *Client) dropRouting(coll string) {
	c.routes.mu.Lock()
	delete(c.routes.m, coll)
	c.routes.mu.Unlock()
}

// partID is the request id of one shard's part: the server derives the
// same for a collection of several shards, and uses the request's own id
// for a collection of one.
func (rt *routing) partID(id string, shardID uint64) string {
	if len(rt.shards) == 1 {
		return id
	}
	return fmt.Sprintf("%s#%d", id, shardID)
}

// split groups key positions by shard position.
func (rt *routing) split(ints []int64, strs []string) [][]int {
	parts := make([][]int, len(rt.shards))
	for i, k := range ints {
		p := wire.ShardFor(k, "", true, len(rt.shards))
		parts[p] = append(parts[p], i)
	}
	for i, k := range strs {
		p := wire.ShardFor(0, k, false, len(rt.shards))
		parts[p] = append(parts[p], i)
	}
	return parts
}

// directResult is how the direct path ended.
type directResult struct {
	resp *pb.WriteResponse
	// err is a shard leader's refusal of its part: final, no fallback.
	err error
	// fallback: no table, or a part could not be served (retriable); retry
	// the whole request through the server's routing. sent: some part was
	// sent and may have been applied.
	fallback, sent bool
}

// direct sends each shard's part to its leader, at once.
func direct(ctx context.Context, c *Client, rt *routing, coll string, parts [][]int, send func(ctx context.Context, rc pb.RaftVecClient, shard *pb.ShardRoute, pos []int) (*pb.WriteResponse, error)) directResult {
	sent := false
	outer := ctx
	// Leave time for the fallback if a leader does not answer.
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, min(time.Until(dl)/2, 5*time.Second))
		defer cancel()
	}
	out := make([]*pb.WriteResponse, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, pos := range parts {
		if len(pos) == 0 {
			continue
		}
		cc, err := c.conn(rt.shards[i].LeaderAddr)
		if err != nil {
			errs[i] = err
			continue
		}
		wg.Add(1)
		sent = true
		go func(i int, pos []int, rc pb.RaftVecClient) {
			defer wg.Done()
			out[i], errs[i] = send(c.withMetaIndex(ctx), rc, rt.shards[i], pos)
		}(i, pos, pb.NewRaftVecClient(cc))
	}
	wg.Wait()
	merged := &pb.WriteResponse{}
	// A part refused outright while another applied (or may have) is a
	// partial write: neither a failure nor a success, and a retry would be
	// refused again (docs/consistency.md, writes across shards).
	var refused error
	applied, other := 0, 0
	for i, err := range errs {
		switch {
		case err == nil && out[i] != nil:
			applied++
		case err == nil:
		case wire.Refused(status.Code(err)):
			refused = cmp.Or(refused, err)
		default:
			other++
		}
	}
	if refused != nil {
		if applied == 0 && other == 0 {
			return directResult{err: refused, sent: sent}
		}
		return directResult{sent: sent, err: status.Errorf(codes.Unknown,
			"partial write across shards: %d shards applied their part, %d failed with unknown outcome, and one refused it: %v", applied, other, refused)}
	}
	for _, err := range errs {
		// A leader that did not answer within the direct window is not a
		// final answer while the caller's deadline has time left: the
		// fallback retries under the same request id.
		windowOver := status.Code(err) == codes.DeadlineExceeded && outer.Err() == nil
		if err != nil && !retriable(err) && !windowOver {
			return directResult{err: err, sent: sent}
		}
	}
	for i := range out {
		if errs[i] != nil {
			c.dropRouting(coll)
			return directResult{fallback: true, sent: sent}
		}
		if o := out[i]; o != nil {
			merged.Ts = max(merged.Ts, o.Ts)
			merged.SessionToken = max(merged.SessionToken, o.SessionToken)
			merged.Inserted += o.Inserted
			merged.Deleted += o.Deleted
			merged.AutoIds = append(merged.AutoIds, o.AutoIds...)
		}
	}
	return directResult{resp: merged, sent: sent}
}

// spanned is how many shards a split touches.
func spanned(parts [][]int) int {
	n := 0
	for _, p := range parts {
		if len(p) > 0 {
			n++
		}
	}
	return n
}

// insertDirect tries the direct path for an insert or upsert.
func (c *Client) insertDirect(ctx context.Context, req *pb.InsertRequest, upsert bool) directResult {
	rows := req.Rows
	n := len(rows.GetIntIds()) + len(rows.GetStrIds())
	if n == 0 || len(rows.Vectors)%n != 0 {
		return directResult{fallback: true} // auto ids or a malformed batch: the server decides
	}
	rt := c.routing(ctx, req.Collection)
	if rt == nil {
		return directResult{fallback: true}
	}
	parts := rt.split(rows.IntIds, rows.StrIds)
	if spanned(parts) > 1 {
		// A batch across shards goes to the server, which validates the
		// whole batch before it splits it: a bad row then refuses every
		// part, where sent straight to the leaders the other parts would
		// be written. Batches of one shard's keys go straight to its
		// leader.
		return directResult{fallback: true}
	}
	return direct(ctx, c, rt, req.Collection, parts,
		func(ctx context.Context, rc pb.RaftVecClient, sh *pb.ShardRoute, pos []int) (*pb.WriteResponse, error) {
			sub := &pb.InsertRequest{Collection: req.Collection, Rows: rows.Pick(pos), RequestId: rt.partID(req.RequestId, sh.Id),
				SessionToken: req.SessionToken, PartitionName: req.PartitionName, FromBackup: req.FromBackup, ShardId: sh.Id}
			if upsert {
				return rc.Upsert(ctx, sub)
			}
			return rc.Insert(ctx, sub)
		})
}

// deleteDirect tries the direct path for a delete by ids.
func (c *Client) deleteDirect(ctx context.Context, req *pb.DeleteRequest) directResult {
	if req.Filter != "" || len(req.PartitionNames) > 0 || len(req.IntIds)+len(req.StrIds) == 0 {
		return directResult{fallback: true}
	}
	rt := c.routing(ctx, req.Collection)
	if rt == nil {
		return directResult{fallback: true}
	}
	return direct(ctx, c, rt, req.Collection, rt.split(req.IntIds, req.StrIds),
		func(ctx context.Context, rc pb.RaftVecClient, sh *pb.ShardRoute, pos []int) (*pb.WriteResponse, error) {
			sub := &pb.DeleteRequest{Collection: req.Collection, RequestId: rt.partID(req.RequestId, sh.Id), SessionToken: req.SessionToken, ShardId: sh.Id}
			for _, i := range pos {
				if len(req.IntIds) > 0 {
					sub.IntIds = append(sub.IntIds, req.IntIds[i])
				} else {
					sub.StrIds = append(sub.StrIds, req.StrIds[i])
				}
			}
			return rc.Delete(ctx, sub)
		})
}
