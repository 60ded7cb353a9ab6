package sdktest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/raftvec/raftvec/rpc/pb"
)

const consDim = 4

func consVec(id int64) []float32 {
	return []float32{float32(id%97) / 97, float32(id%13) / 13, 0.5, 1}
}

// rawInsert inserts rows with the given ids through a generated client.
func rawInsert(ctx context.Context, cl milvuspb.MilvusServiceClient, coll string, ids ...int64) (*milvuspb.MutationResult, error) {
	vecs := make([][]float32, len(ids))
	for i, id := range ids {
		vecs[i] = consVec(id)
	}
	req := &milvuspb.InsertRequest{
		CollectionName: coll,
		FieldsData: []*schemapb.FieldData{
			column.NewColumnInt64("id", ids).FieldData(),
			column.NewColumnFloatVector("vec", consDim, vecs).FieldData(),
			column.NewColumnInt64("v", ids).FieldData(),
		},
		NumRows: uint32(len(ids)),
	}
	resp, err := cl.Insert(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("Insert %v: %v (request %s)", ids, err, short(req))
	}
	if ok, why := statusOK(resp.GetStatus()); !ok {
		return nil, fmt.Errorf("Insert %v: %s (request %s)", ids, why, short(req))
	}
	if resp.GetInsertCnt() != int64(len(ids)) {
		return nil, fmt.Errorf("Insert %v: insert_cnt %d (response %s)", ids, resp.GetInsertCnt(), short(resp))
	}
	return resp, nil
}

// rawQueryIDs runs a Query through a generated client and returns the ids.
func rawQueryIDs(ctx context.Context, cl milvuspb.MilvusServiceClient, coll, expr string, level commonpb.ConsistencyLevel, guarantee uint64) ([]int64, error) {
	req := &milvuspb.QueryRequest{CollectionName: coll, Expr: expr, OutputFields: []string{"id"},
		ConsistencyLevel: level, GuaranteeTimestamp: guarantee}
	resp, err := cl.Query(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("Query: %v (request %s)", err, short(req))
	}
	if ok, why := statusOK(resp.GetStatus()); !ok {
		return nil, fmt.Errorf("Query: %s (request %s)", why, short(req))
	}
	var names []string
	for _, fd := range resp.GetFieldsData() {
		if fd.GetFieldName() == "id" {
			return fd.GetScalars().GetLongData().GetData(), nil
		}
		names = append(names, fd.GetFieldName())
	}
	if len(resp.GetFieldsData()) == 0 {
		return nil, nil // no rows, and no columns either
	}
	return nil, fmt.Errorf("Query: no id column in fields_data (fields %v; request %s)", names, short(req))
}

func hasOnly(ids []int64, id int64) bool { return len(ids) == 1 && ids[0] == id }

// sdkFind queries id == id through the SDK at level.
func sdkFind(ctx context.Context, mc *milvusclient.Client, coll string, id int64, level entity.ConsistencyLevel) (bool, error) {
	rs, err := mc.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter(fmt.Sprintf("id == %d", id)).
		WithOutputFields("id").WithConsistencyLevel(level))
	if err != nil {
		return false, err
	}
	if rs.ResultCount == 0 {
		return false, nil
	}
	col := rs.GetColumn("id")
	if rs.ResultCount != 1 || col == nil {
		return false, fmt.Errorf("query id == %d: %d rows, id column %v", id, rs.ResultCount, col)
	}
	got, err := col.GetAsInt64(0)
	if err != nil || got != id {
		return false, fmt.Errorf("query id == %d returned id %d (%v)", id, got, err)
	}
	return true, nil
}

// TestConsistencyAcrossNodes: Strong and Session (the connection
// identifier, tracked cluster-wide) reads through one node see writes made
// through another at once; Customized with a write's timestamp as the
// guarantee timestamp waits for it; Eventually on a follower held back by
// an apply delay misses a write that Strong (and Session, Customized) on
// the same follower see.
func TestConsistencyAcrossNodes(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	const coll = "cons"
	w, r := c.sdk(0), c.sdk(1)
	raws := []milvuspb.MilvusServiceClient{c.raw(0), c.raw(1), c.raw(2)}

	schema := entity.NewSchema().WithName(coll).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(consDim)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeInt64))
	if err := w.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema).WithShardNum(1)); err != nil {
		t.Fatalf("CreateCollection(%s, 1 shard) via n1: %v", coll, err)
	}
	it, err := w.CreateIndex(ctx, milvusclient.NewCreateIndexOption(coll, "vec", index.NewHNSWIndex(entity.L2, 16, 64)))
	if err != nil {
		t.Fatalf("CreateIndex via n1: %v", err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("CreateIndex Await via n1: %v", err)
	}
	lt, err := w.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(coll))
	if err != nil {
		t.Fatalf("LoadCollection via n1: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("LoadCollection Await via n1: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		has, err := r.HasCollection(ctx, milvusclient.NewHasCollectionOption(coll))
		if err == nil && has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HasCollection(%s) via n2 still %v, %v 20s after it was created via n1", coll, has, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The connection identifier of a Connect to n1, for the Session reads.
	cr, err := raws[0].Connect(ctx, &milvuspb.ConnectRequest{ClientInfo: &commonpb.ClientInfo{SdkType: "raftvec-sdktest", SdkVersion: "0", Host: "localhost"}})
	if err != nil {
		t.Fatalf("Connect via n1: %v", err)
	}
	if ok, why := statusOK(cr.GetStatus()); !ok {
		t.Fatalf("Connect via n1: %s", why)
	}
	if cr.GetIdentifier() == 0 {
		t.Fatalf("Connect via n1 returned identifier 0 (response %s)", short(cr))
	}
	ident := strconv.FormatInt(cr.GetIdentifier(), 10)
	session := metadata.AppendToOutgoingContext(ctx, "identifier", ident)

	t.Run("Strong", func(t *testing.T) {
		for i := int64(0); i < 20; i++ {
			id := 1000 + i
			res, err := w.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", []int64{id}).
				WithFloatVectorColumn("vec", consDim, [][]float32{consVec(id)}).WithInt64Column("v", []int64{id}))
			if err != nil || res.InsertCount != 1 {
				t.Fatalf("Insert id %d via n1: count %d, %v", id, res.InsertCount, err)
			}
			found, err := sdkFind(ctx, r, coll, id, entity.ClStrong)
			if err != nil {
				t.Fatalf("Strong query id == %d via n2: %v", id, err)
			}
			if !found {
				t.Fatalf("Strong query id == %d via n2 right after the insert via n1 was acknowledged: not found (iteration %d)", id, i)
			}
		}
	})

	t.Run("Session", func(t *testing.T) {
		for i := int64(0); i < 20; i++ {
			id := 2000 + i
			if _, err := rawInsert(session, raws[0], coll, id); err != nil {
				t.Fatalf("via n1 with identifier %s: %v", ident, err)
			}
			ids, err := rawQueryIDs(session, raws[1], coll, fmt.Sprintf("id == %d", id), commonpb.ConsistencyLevel_Session, 0)
			if err != nil {
				t.Fatalf("Session query via n2 with identifier %s: %v", ident, err)
			}
			if !hasOnly(ids, id) {
				t.Fatalf("Session query id == %d via n2 (identifier %s, guarantee_timestamp 0) right after the insert via n1 with the same identifier: ids %v, want [%d] (iteration %d)",
					id, ident, ids, id, i)
			}
		}
	})

	t.Run("Customized", func(t *testing.T) {
		for i := int64(0); i < 5; i++ {
			id := 3000 + i
			res, err := rawInsert(ctx, raws[0], coll, id)
			if err != nil {
				t.Fatalf("via n1: %v", err)
			}
			g := res.GetTimestamp()
			if g == 0 {
				t.Fatalf("Insert id %d via n1: MutationResult.timestamp is 0 (response %s)", id, short(res))
			}
			ids, err := rawQueryIDs(ctx, raws[1], coll, fmt.Sprintf("id == %d", id), commonpb.ConsistencyLevel_Customized, g)
			if err != nil {
				t.Fatalf("Customized query via n2 with guarantee_timestamp %d: %v", g, err)
			}
			if !hasOnly(ids, id) {
				t.Fatalf("Customized query id == %d via n2 with guarantee_timestamp %d (the insert's timestamp): ids %v, want [%d]", id, g, ids, id)
			}
		}
	})

	t.Run("EventuallyHeldBackFollower", func(t *testing.T) {
		// The shard's leader and a follower, from raftvec's own API.
		var leader, follower int
		deadline := time.Now().Add(20 * time.Second)
		for {
			d, err := c.raftvecCollection(ctx, coll)
			if err != nil {
				t.Fatalf("raftvec DescribeCollection(%s): %v", coll, err)
			}
			if len(d.Shards) != 1 {
				t.Fatalf("raftvec DescribeCollection(%s): %d shards, want 1 (Milvus CreateCollection shards_num 1)", coll, len(d.Shards))
			}
			sh := d.Shards[0]
			leader, follower = c.nodeIndex(sh.Leader), -1
			for _, rep := range sh.Replicas {
				if i := c.nodeIndex(rep); i >= 0 && rep != sh.Leader {
					follower = i
					break
				}
			}
			if leader >= 0 && follower >= 0 {
				t.Logf("shard %d: leader %s, replicas %v; holding back %s", sh.Id, sh.Leader, sh.Replicas, c.nodes[follower].id)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard of %s: leader %q replicas %v: no leader and follower among n1..n3", coll, sh.Leader, sh.Replicas)
			}
			time.Sleep(100 * time.Millisecond)
		}
		fnode := c.nodes[follower]
		// The follower has applied everything so far (the last Customized
		// insert) before it is held back.
		for {
			ids, err := rawQueryIDs(ctx, raws[follower], coll, "id == 3004", commonpb.ConsistencyLevel_Eventually, 0)
			if err != nil {
				t.Fatalf("Eventually query via %s: %v", fnode.id, err)
			}
			if hasOnly(ids, 3004) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("follower %s did not catch up with id 3004 (Eventually query: %v)", fnode.id, ids)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := c.admin.InjectFault(ctx, fnode.api, &pb.InjectFaultRequest{ApplyDelayMs: 3000, SetApplyDelay: true}); err != nil {
			t.Fatalf("InjectFault apply delay 3s on %s: %v", fnode.id, err)
		}
		cleared := false
		clear := func() {
			if cleared {
				return
			}
			cleared = true
			if _, err := c.admin.InjectFault(context.Background(), fnode.api, &pb.InjectFaultRequest{SetApplyDelay: true}); err != nil {
				t.Errorf("clearing the apply delay on %s: %v", fnode.id, err)
			}
		}
		defer clear()

		const id = 4000
		res, err := rawInsert(session, raws[leader], coll, id)
		if err != nil {
			t.Fatalf("via the leader %s: %v", c.nodes[leader].id, err)
		}
		expr := fmt.Sprintf("id == %d", id)
		ids, err := rawQueryIDs(ctx, raws[follower], coll, expr, commonpb.ConsistencyLevel_Eventually, 0)
		if err != nil {
			t.Fatalf("Eventually query via the held-back follower %s: %v", fnode.id, err)
		}
		if len(ids) != 0 {
			t.Fatalf("Eventually query %s via %s (every apply delayed 3s) already sees the row (ids %v): the read did not come from the follower's own state",
				expr, fnode.id, ids)
		}
		ids, err = rawQueryIDs(ctx, raws[follower], coll, expr, commonpb.ConsistencyLevel_Strong, 0)
		if err != nil {
			t.Fatalf("Strong query via the held-back follower %s: %v", fnode.id, err)
		}
		if !hasOnly(ids, id) {
			t.Fatalf("Strong query %s via the held-back follower %s: ids %v, want [%d]", expr, fnode.id, ids, id)
		}
		// Session (the identifier the insert carried) and Customized (the
		// insert's timestamp) on the held-back follower see it too: they may
		// wait for the follower.
		ids, err = rawQueryIDs(session, raws[follower], coll, expr, commonpb.ConsistencyLevel_Session, 0)
		if err != nil {
			t.Fatalf("Session query via the held-back follower %s: %v", fnode.id, err)
		}
		if !hasOnly(ids, id) {
			t.Fatalf("Session query %s via the held-back follower %s (identifier %s): ids %v, want [%d]", expr, fnode.id, ident, ids, id)
		}
		ids, err = rawQueryIDs(ctx, raws[follower], coll, expr, commonpb.ConsistencyLevel_Customized, res.GetTimestamp())
		if err != nil {
			t.Fatalf("Customized query via the held-back follower %s: %v", fnode.id, err)
		}
		if !hasOnly(ids, id) {
			t.Fatalf("Customized query %s via the held-back follower %s (guarantee_timestamp %d): ids %v, want [%d]", expr, fnode.id, res.GetTimestamp(), ids, id)
		}
		clear()
		// Released, the follower catches up and Eventually sees the row.
		deadline = time.Now().Add(30 * time.Second)
		for {
			ids, err := rawQueryIDs(ctx, raws[follower], coll, expr, commonpb.ConsistencyLevel_Eventually, 0)
			if err != nil {
				t.Fatalf("Eventually query via %s after the delay was cleared: %v", fnode.id, err)
			}
			if hasOnly(ids, id) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Eventually query %s via %s never saw the row after the delay was cleared: ids %v", expr, fnode.id, ids)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
