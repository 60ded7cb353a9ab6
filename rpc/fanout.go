package rpc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
	"github.com/raftvec/raftvec/shard"
	"github.com/raftvec/raftvec/telemetry"
)

// Requests over a collection of several shards are fanned out by the node
// that receives them: it splits rows and ids by primary-key hash, sends each
// shard its part (marked with shard_id, through this node's own handlers, so
// each part is served locally or forwarded to the shard's leader), and
// merges the answers. STRONG reads and reads as of a ts first agree on one
// ts for all shards, so that they see one cut of the collection; the other
// levels read each shard at the level itself, so that each shard's part
// keeps the level's bound on its own (docs/consistency.md).

// own marks a context as this node's own request, free to be forwarded
// even if the client's request reached this node by forwarding.
func own(ctx context.Context) context.Context {
	return metadata.NewIncomingContext(ctx, metadata.MD{})
}

// subID derives a shard's part's request id, so that a retried request
// retries each part under its own id.
func subID(id string, shardID uint64) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf("%s#%d", id, shardID)
}

// fanAll runs f on every shard at once and merges the answers, in shard
// order. The first error wins.
func fanAll[T any](ctx context.Context, s *Server, c *fsm.CollectionInfo, f func(context.Context, fsm.ShardPlacement) (T, error), merge func([]T) T) (T, error) {
	return fanSome(ctx, c.Shards, func(ctx context.Context, i int, sh fsm.ShardPlacement) (T, error) { return f(own(ctx), sh) }, merge)
}

func fanSome[T any](ctx context.Context, shards []fsm.ShardPlacement, f func(context.Context, int, fsm.ShardPlacement) (T, error), merge func([]T) T) (T, error) {
	out, errs := fanEach(ctx, shards, f)
	for _, err := range errs {
		if err != nil {
			var zero T
			return zero, err
		}
	}
	return merge(out), nil
}

// fanEach runs f on every shard at once and returns every answer and error
// (traced: an rpc.fanout span with one rpc.shard span per shard).
func fanEach[T any](ctx context.Context, shards []fsm.ShardPlacement, f func(context.Context, int, fsm.ShardPlacement) (T, error)) ([]T, []error) {
	ctx, span := startFanout(ctx, len(shards))
	defer span.End()
	out := make([]T, len(shards))
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Add(1)
		go func(i int, sh fsm.ShardPlacement) {
			defer wg.Done()
			ctx, span := startShard(ctx, sh.ID)
			out[i], errs[i] = f(ctx, i, sh)
			telemetry.End(span, errs[i])
		}(i, sh)
	}
	wg.Wait()
	return out, errs
}

// --- writes ---

// A write across shards is one write per shard, each atomic on its own
// shard; together they are not atomic. When some parts fail, the answer
// must not claim more than is known: only if every part with rows was
// refused before it could apply is the write a definite failure. If every
// failed part's outcome is unknown, so is the write's (UNAVAILABLE: a retry
// under the same request id is safe, applied parts answer from the dedup
// table, and can finish it). If some part was refused while another applied
// or may have, it is a PartialWriteError (UNKNOWN, not retried by the SDK:
// the refused part would be refused again), which says which shards
// applied.

// PartialWriteError is a write across shards that some shards applied (or
// may have) and others did not.
type PartialWriteError struct {
	Applied []uint64 // shards that applied their part
	Failed  map[uint64]error
}

func (e *PartialWriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "partial write across shards: applied on shards %v", e.Applied)
	ids := make([]uint64, 0, len(e.Failed))
	for id := range e.Failed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "; shard %d: %v", id, e.Failed[id])
	}
	b.WriteString(" (the failed parts may or may not have applied unless their error says they were refused; retry with the same request id)")
	return b.String()
}

// fanWrite runs a write's part on every shard that has one (f returns nil,
// nil for a shard without) and merges the outcomes.
func fanWrite(ctx context.Context, shards []fsm.ShardPlacement, f func(context.Context, int, fsm.ShardPlacement) (*pb.WriteResponse, error)) (*pb.WriteResponse, error) {
	out, errs := fanEach(ctx, shards, f)
	var first error
	var applied []uint64
	failed := map[uint64]error{}
	refused := 0
	for i, err := range errs {
		switch {
		case err != nil:
			first = cmp.Or(first, err)
			failed[shards[i].ID] = err
			if wire.Refused(status.Code(toStatus(err))) {
				refused++
			}
		case out[i] != nil:
			applied = append(applied, shards[i].ID)
		}
	}
	switch {
	case len(failed) == 0:
		return mergeWrites(out), nil
	case refused == 0:
		// Every failed part's outcome is unknown: the error says so, and a
		// retry under the same request id can finish the write.
		return nil, first
	case len(applied) == 0 && refused == len(failed):
		return nil, first // refused everywhere: nothing applied
	}
	return nil, &PartialWriteError{Applied: applied, Failed: failed}
}

func mergeWrites(out []*pb.WriteResponse) *pb.WriteResponse {
	r := &pb.WriteResponse{}
	for _, o := range out {
		if o == nil {
			continue
		}
		r.Ts = max(r.Ts, o.Ts)
		r.SessionToken = max(r.SessionToken, o.SessionToken)
		r.Inserted += o.Inserted
		r.Deleted += o.Deleted
		r.AutoIds = append(r.AutoIds, o.AutoIds...)
	}
	return r
}

// splitRows returns, for each shard position, the positions of the rows
// (or ids) it owns.
func splitKeys(ints []int64, strs []string, n int) [][]int {
	parts := make([][]int, n)
	for i, k := range ints {
		p := wire.ShardFor(k, "", true, n)
		parts[p] = append(parts[p], i)
	}
	for i, k := range strs {
		p := wire.ShardFor(0, k, false, n)
		parts[p] = append(parts[p], i)
	}
	return parts
}

func (s *Server) fanInsert(ctx context.Context, c *fsm.CollectionInfo, req *pb.InsertRequest, upsert bool) (*pb.WriteResponse, error) {
	sc, err := c.SchemaProto()
	if err != nil {
		return nil, err
	}
	schema, err := fsm.NewSchema(sc)
	if err != nil {
		return nil, err
	}
	rows := req.Rows
	n := len(rows.IntIds) + len(rows.StrIds)
	if n == 0 {
		// Auto ids: the whole batch goes to one shard, chosen by the
		// request id so that a retry goes to the same shard.
		p := wire.ShardFor(0, req.RequestId, false, len(c.Shards))
		sub := proto.Clone(req).(*pb.InsertRequest)
		sub.ShardId, sub.RequestId = c.Shards[p].ID, subID(req.RequestId, c.Shards[p].ID)
		return s.insert(own(ctx), sub, upsert)
	}
	// The whole batch is validated before it is split: a bad row must
	// refuse the request on every shard, not only on its own, which would
	// leave the other shards' parts written. Each shard leader validates
	// its part again before proposing (it may be on another node).
	if _, err := schema.BuildRows(rowsInput(req), s.host.Limits()); err != nil {
		return nil, err
	}
	parts := splitKeys(rows.IntIds, rows.StrIds, len(c.Shards))
	return fanWrite(ctx, c.Shards, func(ctx context.Context, i int, sh fsm.ShardPlacement) (*pb.WriteResponse, error) {
		if len(parts[i]) == 0 {
			return nil, nil
		}
		sub := &pb.InsertRequest{Collection: req.Collection, Rows: rows.Pick(parts[i]), RequestId: subID(req.RequestId, sh.ID),
			SessionToken: req.SessionToken, PartitionName: req.PartitionName, FromBackup: req.FromBackup, ShardId: sh.ID}
		return s.insert(own(ctx), sub, upsert)
	})
}

func (s *Server) fanDelete(ctx context.Context, c *fsm.CollectionInfo, req *pb.DeleteRequest) (*pb.WriteResponse, error) {
	byKeys := len(req.IntIds)+len(req.StrIds) > 0
	var parts [][]int
	if byKeys {
		parts = splitKeys(req.IntIds, req.StrIds, len(c.Shards))
	}
	return fanWrite(ctx, c.Shards, func(ctx context.Context, i int, sh fsm.ShardPlacement) (*pb.WriteResponse, error) {
		sub := proto.Clone(req).(*pb.DeleteRequest)
		sub.ShardId, sub.RequestId = sh.ID, subID(req.RequestId, sh.ID)
		if byKeys {
			if len(parts[i]) == 0 {
				return nil, nil
			}
			sub.IntIds, sub.StrIds = nil, nil
			for _, p := range parts[i] {
				if len(req.IntIds) > 0 {
					sub.IntIds = append(sub.IntIds, req.IntIds[p])
				} else {
					sub.StrIds = append(sub.StrIds, req.StrIds[p])
				}
			}
		}
		return s.Delete(own(ctx), sub)
	})
}

// --- reads ---

// ReadTs returns the ts at which one shard can serve a read: the first
// phase of a read across shards.
func (s *Server) ReadTs(ctx context.Context, req *pb.ReadTsRequest) (*pb.ReadTsResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	ro, err := readOptions(req.Read, c)
	if err != nil {
		return nil, err
	}
	sh, _, err := pick(c, req.ShardId)
	if err != nil {
		return nil, err
	}
	return onShard(ctx, s, sh, ro.Level == shard.Strong,
		func(r *shard.Replica) (*pb.ReadTsResponse, error) {
			ts, err := r.ReadTs(ctx, ro)
			leader, _ := r.Group().LeaderHint()
			return &pb.ReadTsResponse{Ts: ts, Leader: leader}, err
		},
		func(c pb.RaftVecClient, ctx context.Context) (*pb.ReadTsResponse, error) { return c.ReadTs(ctx, req) })
}

// commonTs is the one ts a read across shards uses, or 0 when each shard
// reads at the level itself. For STRONG it is a ts from the timestamp
// oracle, taken after the read arrived: every write acknowledged before
// that was stamped below it, and every write sent after a write the cut
// misses is stamped above the missed one, so the cut is linearizable
// whatever the shard leaders' clocks say. Each shard then serves the read
// once it has applied that far (its leader ticks up to it at once).
// BOUNDED, SESSION and EVENTUAL take no common ts: one ts for all shards
// would have to be the lowest, and a shard whose safe ts lags would then
// pull every other shard's part below its bound.
//
// shards are the shards the read touches; a read of one shard needs no
// common ts, its own level is the promise.
func (s *Server) commonTs(ctx context.Context, c *fsm.CollectionInfo, shards []fsm.ShardPlacement, read *pb.ReadOptions, ro shard.ReadOptions) (uint64, error) {
	if ro.AsOf > 0 {
		return ro.AsOf, nil
	}
	unsafe := s.host.Config().Unsafe
	lowest := unsafe.LowestTsCut && ro.Level != shard.Strong
	if (ro.Level != shard.Strong && !lowest) || len(shards) < 2 {
		return 0, nil
	}
	var ts uint64
	var err error
	if !lowest && !unsafe.LocalTs {
		ts, err = s.host.Ts(ctx)
	} else {
		ts, err = shardsCut(ctx, s, c, shards, read, lowest)
	}
	if h := TestHookCut; h != nil && err == nil {
		h(ts)
	}
	return ts, err
}

// TestHookCut, if set, runs when a read across shards has taken its
// common ts and before it reads: tests use it to land writes in between.
var TestHookCut func(ts uint64)

// shardsCut is the negative controls' common ts, from the shards' own
// timestamps: the lowest for BOUNDED, SESSION and EVENTUAL, the highest
// for STRONG.
func shardsCut(ctx context.Context, s *Server, c *fsm.CollectionInfo, shards []fsm.ShardPlacement, read *pb.ReadOptions, lowest bool) (uint64, error) {
	return fanSome(ctx, shards, func(ctx context.Context, _ int, sh fsm.ShardPlacement) (uint64, error) {
		ctx = own(ctx)
		resp, err := s.ReadTs(ctx, &pb.ReadTsRequest{Collection: c.Name, ShardId: sh.ID, Read: read})
		if err != nil {
			return 0, err
		}
		return resp.Ts, nil
	}, func(ts []uint64) uint64 {
		if lowest {
			return slices.Min(ts)
		}
		return slices.Max(ts)
	})
}

// againIfOvertaken runs a read across shards again when a compaction on
// one shard moved its read horizon above the common ts: a read of the
// current state can take a new cut, as a read on one shard does
// (shard.readAt). A read as of a ts the client named cannot.
func againIfOvertaken[T any](ro shard.ReadOptions, read func() (T, error)) (T, error) {
	out, err := read()
	for tries := 0; ro.AsOf == 0 && tries < 2 && (errors.Is(err, fsm.ErrTsTooOld) || status.Code(err) == codes.OutOfRange); tries++ {
		out, err = read()
	}
	return out, err
}

// asOf is a shard's part of a read across shards: as of the common ts,
// and for STRONG on the shard's leader unless a replica has applied that
// far already (the leader can move its safe ts up to the common ts at once
// instead of waiting for a time tick). Without a common ts it is the
// read's own options.
func asOf(read *pb.ReadOptions, ro shard.ReadOptions, ts uint64) *pb.ReadOptions {
	if ts == 0 {
		return read
	}
	out := &pb.ReadOptions{AsOfTs: ts}
	if ro.Level == shard.Strong {
		out.Level = pb.ConsistencyLevel_STRONG
	}
	if read != nil {
		out.SessionToken = read.SessionToken
	}
	return out
}

func (s *Server) fanGet(ctx context.Context, c *fsm.CollectionInfo, req *pb.GetRequest, ro shard.ReadOptions) (*pb.GetResponse, error) {
	parts := splitKeys(req.IntIds, req.StrIds, len(c.Shards))
	var touched []fsm.ShardPlacement
	for i, p := range parts {
		if len(p) > 0 {
			touched = append(touched, c.Shards[i])
		}
	}
	ts, err := s.commonTs(ctx, c, touched, req.Read, ro)
	if err != nil {
		return nil, err
	}
	resp, err := fanSome(ctx, c.Shards, func(ctx context.Context, i int, sh fsm.ShardPlacement) (*pb.GetResponse, error) {
		if len(parts[i]) == 0 {
			return nil, nil
		}
		sub := proto.Clone(req).(*pb.GetRequest)
		sub.ShardId, sub.Read, sub.IntIds, sub.StrIds = sh.ID, asOf(req.Read, ro, ts), nil, nil
		for _, p := range parts[i] {
			if len(req.IntIds) > 0 {
				sub.IntIds = append(sub.IntIds, req.IntIds[p])
			} else {
				sub.StrIds = append(sub.StrIds, req.StrIds[p])
			}
		}
		return s.Get(own(ctx), sub)
	}, func(out []*pb.GetResponse) *pb.GetResponse {
		r := &pb.GetResponse{Rows: &pb.Rows{}}
		var parts []tsPair
		for _, o := range out {
			if o != nil {
				appendRows(r.Rows, o.Rows)
				parts = append(parts, tsPair{o.Ts, o.SessionToken})
			}
		}
		r.Ts, r.SessionToken = mergeTs(ts, ro, parts)
		return r
	})
	return resp, err
}

// tsPair is a shard's part's answer ts and session token.
type tsPair struct{ ts, token uint64 }

// mergeTs is the ts and session token of a read across shards: the common
// ts if there was one, else the lowest of the parts' ts (every part
// reflects at least that); the token is the highest the client has seen.
func mergeTs(common uint64, ro shard.ReadOptions, parts []tsPair) (ts, token uint64) {
	ts, token = common, max(common, ro.SessionToken)
	for i, p := range parts {
		if common == 0 && (i == 0 || p.ts < ts) {
			ts = p.ts
		}
		token = max(token, p.token)
	}
	return ts, token
}

// appendRows appends the rows of b to a (same fields, in the same order).
func appendRows(a, b *pb.Rows) {
	a.IntIds = append(a.IntIds, b.IntIds...)
	a.StrIds = append(a.StrIds, b.StrIds...)
	a.Vectors = append(a.Vectors, b.Vectors...)
	if len(a.Fields) == 0 {
		for _, f := range b.Fields {
			a.Fields = append(a.Fields, &pb.FieldColumn{Name: f.Name})
		}
	}
	for i, f := range b.Fields {
		if i < len(a.Fields) {
			a.Fields[i].Values = append(a.Fields[i].Values, f.Values...)
		}
	}
}

func (s *Server) fanSearch(ctx context.Context, c *fsm.CollectionInfo, req *pb.SearchRequest, ro shard.ReadOptions) (*pb.SearchResponse, error) {
	sc, err := c.SchemaProto()
	if err != nil {
		return nil, err
	}
	metric := fsm.MetricFromProto(findVector(sc).Metric)
	ts, err := s.commonTs(ctx, c, c.Shards, req.Read, ro)
	if err != nil {
		return nil, err
	}
	return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.SearchResponse, error) {
		sub := proto.Clone(req).(*pb.SearchRequest)
		// Each shard returns its best top_k+offset; the offset is applied
		// to the merged list.
		sub.ShardId, sub.Read, sub.TopK, sub.Offset = sh.ID, asOf(req.Read, ro, ts), req.TopK+req.Offset, 0
		return s.Search(ctx, sub)
	}, func(out []*pb.SearchResponse) *pb.SearchResponse {
		r := &pb.SearchResponse{OutputFields: req.OutputFields}
		parts := make([]tsPair, len(out))
		for i, o := range out {
			parts[i] = tsPair{o.Ts, o.SessionToken}
		}
		r.Ts, r.SessionToken = mergeTs(ts, ro, parts)
		for q := range out[0].Results {
			var all []*pb.Hit
			for _, o := range out {
				all = append(all, o.Results[q].Hits...)
			}
			// Closer first; ties by primary key, so the merge does not
			// depend on which shard answered first.
			sort.SliceStable(all, func(i, j int) bool {
				a, b := all[i], all[j]
				if a.Score != b.Score {
					if metric == index.L2 {
						return a.Score < b.Score
					}
					return a.Score > b.Score
				}
				if a.IntId != b.IntId {
					return a.IntId < b.IntId
				}
				return a.StrId < b.StrId
			})
			if int(req.Offset) < len(all) {
				all = all[req.Offset:]
			} else {
				all = nil
			}
			if len(all) > int(req.TopK) {
				all = all[:req.TopK]
			}
			r.Results = append(r.Results, &pb.HitList{Hits: all})
		}
		return r
	})
}

func findVector(sc *fsmpb.Schema) *fsmpb.Field {
	for _, f := range sc.Fields {
		if f.Type == fsmpb.FieldType_FLOAT_VECTOR {
			return f
		}
	}
	return &fsmpb.Field{}
}

func (s *Server) fanQuery(ctx context.Context, c *fsm.CollectionInfo, req *pb.QueryRequest, ro shard.ReadOptions) (*pb.QueryResponse, error) {
	ts, err := s.commonTs(ctx, c, c.Shards, req.Read, ro)
	if err != nil {
		return nil, err
	}
	limit := int(req.Limit)
	if limit == 0 {
		limit = fsm.MaxQueryRow
	}
	if limit+int(req.Offset) > fsm.MaxQueryRow {
		return nil, invalid("offset (%d) + limit (%d) must be at most %d on a collection of several shards", req.Offset, limit, fsm.MaxQueryRow)
	}
	return fanAll(ctx, s, c, func(ctx context.Context, sh fsm.ShardPlacement) (*pb.QueryResponse, error) {
		sub := proto.Clone(req).(*pb.QueryRequest)
		sub.ShardId, sub.Read, sub.Limit, sub.Offset = sh.ID, asOf(req.Read, ro, ts), uint32(limit)+req.Offset, 0
		return s.Query(ctx, sub)
	}, func(out []*pb.QueryResponse) *pb.QueryResponse {
		// Shards in order, then offset and limit over the whole.
		all := &pb.Rows{}
		parts := make([]tsPair, len(out))
		for i, o := range out {
			appendRows(all, o.Rows)
			parts[i] = tsPair{o.Ts, o.SessionToken}
		}
		rts, token := mergeTs(ts, ro, parts)
		n := len(all.IntIds) + len(all.StrIds)
		from, to := min(int(req.Offset), n), min(int(req.Offset)+limit, n)
		pos := make([]int, 0, to-from)
		for i := from; i < to; i++ {
			pos = append(pos, i)
		}
		return &pb.QueryResponse{Rows: all.Pick(pos), Ts: rts, SessionToken: token}
	})
}

// GetRouting returns the collection's shards in routing order with their
// leaders' API addresses, as their replicas know them.
func (s *Server) GetRouting(ctx context.Context, req *pb.GetRoutingRequest) (*pb.GetRoutingResponse, error) {
	c, err := s.collection(req.Collection)
	if err != nil {
		return nil, err
	}
	sc, err := c.SchemaProto()
	if err != nil {
		return nil, err
	}
	nodes := s.host.Meta().Nodes
	addr := func(id string) string {
		if n, ok := nodes[id]; ok {
			return n.APIAddr
		}
		return ""
	}
	eventual := &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}
	out := &pb.GetRoutingResponse{VarcharPk: findPK(sc).Type == fsmpb.FieldType_VARCHAR}
	got := make([]*pb.ShardRoute, len(c.Shards))
	_, err = fanSome(ctx, c.Shards, func(ctx context.Context, i int, sh fsm.ShardPlacement) (struct{}, error) {
		rt := &pb.ShardRoute{Id: sh.ID}
		for _, id := range append(append([]string{}, sh.Voters...), sh.NonVoters...) {
			rt.ReplicaAddrs = append(rt.ReplicaAddrs, addr(id))
		}
		if resp, err := s.ReadTs(own(ctx), &pb.ReadTsRequest{Collection: c.Name, ShardId: sh.ID, Read: eventual}); err == nil {
			rt.LeaderAddr = addr(resp.Leader)
		}
		got[i] = rt
		return struct{}{}, nil
	}, func([]struct{}) struct{} { return struct{}{} })
	if err != nil {
		return nil, err
	}
	out.Shards = got
	return out, nil
}

func findPK(sc *fsmpb.Schema) *fsmpb.Field {
	for _, f := range sc.Fields {
		if f.PrimaryKey {
			return f
		}
	}
	return &fsmpb.Field{}
}
