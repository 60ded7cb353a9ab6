package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// An export (raftvec backup create) is one consistent cut of a
// collection: every shard's rows visible at one ts. Without an as_of_ts
// the receiving node takes a ts from the timestamp oracle, as a STRONG
// read across shards does (commonTs), so the cut holds every write
// acknowledged before the export began. Each shard is exported by one of
// its replicas, here or on another node, once that replica has applied
// the ts; the shards stream at once, each through its own goroutine, into
// the one stream to the client.

// exportBatchRows is the default rows per message, and exportMaxBytes
// what a message's vectors may take.
const (
	exportBatchRows = 4096
	exportMaxBytes  = 8 << 20
)

// Export streams a collection's rows as of one ts.
func (s *Server) Export(req *pb.ExportRequest, stream grpc.ServerStreamingServer[pb.ExportResponse]) error {
	ctx := stream.Context()
	c, err := s.collection(req.Collection)
	if err != nil {
		return err
	}
	sp, err := c.SchemaProto()
	if err != nil {
		return err
	}
	sc, err := fsm.NewSchema(sp)
	if err != nil {
		return err
	}
	batch := int(req.BatchRows)
	switch {
	case batch == 0:
		batch = exportBatchRows
	case batch > fsm.MaxQueryRow:
		return invalid("batch_rows (%d) must be between 1 and %d", batch, fsm.MaxQueryRow)
	}
	batch = max(1, min(batch, exportMaxBytes/(4*sc.Dim)))
	shards, ts := c.Shards, req.AsOfTs
	if req.ShardId != 0 {
		sh, ok := c.ShardByID(req.ShardId)
		if !ok {
			return fmt.Errorf("%w: shard %d of collection %q", fsm.ErrNotFound, req.ShardId, c.Name)
		}
		if ts == 0 {
			return invalid("as_of_ts: required when shard_id names one shard")
		}
		shards = []fsm.ShardPlacement{sh}
	} else if ts == 0 {
		if ts, err = s.host.Ts(ctx); err != nil {
			return err
		}
	}
	names := make(map[uint32]string, len(c.Partitions))
	for name, id := range c.Partitions {
		names[id] = name
	}
	if _, ok := names[0]; !ok {
		names[0] = fsm.DefaultPartition
	}
	var mu sync.Mutex
	send := func(m *pb.ExportResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(m)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = s.exportShard(ctx, c.Name, sc, sh, ts, batch, names, send); errs[i] != nil {
				cancel() // one shard failed: the cut is incomplete, stop the rest
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// exportShard streams one shard's rows at ts: from its replica on this
// node, else relayed from a node that has one.
func (s *Server) exportShard(ctx context.Context, coll string, sc *fsm.Schema, sh fsm.ShardPlacement, ts uint64, batch int,
	names map[uint32]string, send func(*pb.ExportResponse) error) error {
	r := s.host.Replica(sh.ID)
	if r == nil {
		return s.relayExport(ctx, &pb.ExportRequest{Collection: coll, AsOfTs: ts, BatchRows: uint32(batch), ShardId: sh.ID}, sh, send)
	}
	if _, err := r.ReadTs(ctx, shard.ReadOptions{Level: shard.Eventual, AsOf: ts}); err != nil {
		return err
	}
	fields := sc.ExportFields()
	n, err := r.FSM().Export(ctx, ts, batch, func(b fsm.ExportBatch) error {
		name, ok := names[b.Partition]
		if !ok {
			return fmt.Errorf("%w: shard %d has rows in partition id %d, which the metadata no longer names (dropped during the export?)",
				fsm.ErrNotFound, sh.ID, b.Partition)
		}
		return send(&pb.ExportResponse{Ts: ts, ShardId: sh.ID, Partition: name, Rows: rowsToPB(b.Rows, fields, sc.Vector.Name)})
	})
	if err != nil {
		return err
	}
	return send(&pb.ExportResponse{Ts: ts, ShardId: sh.ID, ShardDone: true, ShardRows: uint64(n)})
}

// relayExport asks the shard's replicas in turn for its export and relays
// the messages; it moves on to the next replica only if the first one
// failed before sending anything.
func (s *Server) relayExport(ctx context.Context, req *pb.ExportRequest, sh fsm.ShardPlacement, send func(*pb.ExportResponse) error) error {
	if hops(ctx) >= maxHops-1 {
		return fmt.Errorf("%w: shard %d", shard.ErrNoReplica, sh.ID)
	}
	var last error = fmt.Errorf("%w: shard %d", shard.ErrNoReplica, sh.ID)
	for _, id := range sh.Voters {
		n, ok := s.host.Meta().Nodes[id]
		if !ok || n.APIAddr == "" {
			continue
		}
		conn, err := s.conn(n.APIAddr)
		if err != nil {
			last = err
			continue
		}
		s.forwarded.add()
		cs, err := pb.NewRaftVecClient(conn).Export(s.forwardContext(ctx), req)
		if err != nil {
			last = err
			continue
		}
		sent := false
		for {
			m, err := cs.Recv()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				if sent || ctx.Err() != nil {
					return err
				}
				last = err
				break
			}
			if err := send(m); err != nil {
				return err
			}
			sent = true
		}
	}
	return last
}

// streamStatus maps a streaming call's error to a status code, as
// statusInterceptor does for unary calls.
func streamStatus(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return toStatus(handler(srv, ss))
}

// streamMetaWait is metaWait for streaming calls.
func (s *Server) streamMetaWait(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.awaitMeta(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}
