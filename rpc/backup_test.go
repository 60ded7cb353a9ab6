package rpc_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/backup"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// backupSchema has a scalar of each kind the restore must carry: varchar,
// a nullable double, JSON, the dynamic field; the auto_id collection's
// vectors are COSINE.
func backupSchema(name string, autoID bool) *pb.CollectionSchema {
	metric := pb.Metric_L2
	if autoID {
		metric = pb.Metric_COSINE // stored normalised: restored as stored
	}
	return &pb.CollectionSchema{Name: name, Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true, AutoId: autoID},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 8, Metric: metric},
		{Name: "category", Type: pb.FieldType_VARCHAR, MaxLength: 32},
		{Name: "price", Type: pb.FieldType_DOUBLE, Nullable: true},
		{Name: "meta", Type: pb.FieldType_JSON, Nullable: true},
		{Name: "$meta", Type: pb.FieldType_JSON, Nullable: true, Dynamic: true},
	}}
}

// backupRows makes n rows from id first on (no ids for an auto_id
// collection); gen varies the values, so that upserts change them.
func backupRows(first int64, n int, gen int, withIDs bool) *pb.Rows {
	r := &pb.Rows{Fields: []*pb.FieldColumn{{Name: "category"}, {Name: "price"}, {Name: "meta"}, {Name: "$meta"}}}
	for i := range int64(n) {
		id := first + i
		if withIDs {
			r.IntIds = append(r.IntIds, id)
		}
		for d := range int64(8) {
			r.Vectors = append(r.Vectors, float32((id*7+d*3+int64(gen))%101)/10)
		}
		r.Fields[0].Values = append(r.Fields[0].Values, &pb.Value{Kind: &pb.Value_Varchar{Varchar: fmt.Sprintf("c%d-%d", id%5, gen)}})
		price := &pb.Value{} // null every third row
		if id%3 != 0 {
			price = &pb.Value{Kind: &pb.Value_Double{Double: float64(id) / 4}}
		}
		r.Fields[1].Values = append(r.Fields[1].Values, price)
		meta := &pb.Value{}
		if id%2 == 0 {
			meta = &pb.Value{Kind: &pb.Value_Json{Json: fmt.Appendf(nil, `{"n":%d,"tag":"t%d"}`, id, gen)}}
		}
		r.Fields[2].Values = append(r.Fields[2].Values, meta)
		dyn := &pb.Value{} // keys outside the schema on every fifth row
		if id%5 == 0 {
			dyn = &pb.Value{Kind: &pb.Value_Json{Json: fmt.Appendf(nil, `{"extra":%d}`, id+int64(gen))}}
		}
		r.Fields[3].Values = append(r.Fields[3].Values, dyn)
	}
	return r
}

// snapshotRows reads every row of every partition of a collection with
// every field, STRONG as of ts (0: now), as sorted lines, and their digest.
func snapshotRows(t *testing.T, ctx context.Context, cl *client.Client, coll string, ts uint64) ([]string, string) {
	t.Helper()
	parts, err := cl.ListPartitions(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range parts {
		q, err := cl.Query(ctx, &pb.QueryRequest{Collection: coll, Filter: "id >= 0", PartitionNames: []string{p},
			OutputFields: []string{"vector", "category", "price", "meta", "$meta"},
			Read:         &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG, AsOfTs: ts}})
		if err != nil {
			t.Fatalf("query %s partition %s: %v", coll, p, err)
		}
		rows := q.Rows
		for i, id := range rows.IntIds {
			line := fmt.Sprintf("%s|%d|%v", p, id, rows.Vectors[i*8:(i+1)*8])
			for _, f := range rows.Fields {
				b, _ := proto.Marshal(f.Values[i])
				line += fmt.Sprintf("|%s=%x", f.Name, b)
			}
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return lines, hex.EncodeToString(h[:])
}

// Issue 14, item 1: a backup taken under a concurrent writer, restored
// into a fresh cluster with another shard count, equals a STRONG read of
// the original as of the backup's ts, index spec and partitions included;
// an auto_id collection keeps its ids and hands out new ones above them.
// Item 2: a backup with a flipped byte, a truncated file or a missing file
// is refused, naming the file, and creates nothing.
func TestBackupRestore(t *testing.T) {
	src := mustCluster(t, 3, nil)
	cl := src.client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: backupSchema("items", false), Shards: 2}); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: backupSchema("auto", true), Shards: 2, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreatePartition(ctx, "items", "p1"); err != nil {
		t.Fatal(err)
	}
	for b := int64(0); b < 4; b++ {
		part := ""
		if b%2 == 1 {
			part = "p1"
		}
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "items", PartitionName: part, Rows: backupRows(b*500, 500, 0, true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "auto", Rows: backupRows(0, 300, int(b), false)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: "items", IndexType: "HNSW", M: 12, EfConstruction: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "items", Filter: "id < 100"}); err != nil {
		t.Fatal(err)
	}

	// The writer inserts new rows, upserts old ones and deletes others
	// all through the backup.
	stop := make(chan struct{})
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wcl := src.client(1)
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			var err error
			switch i % 3 {
			case 0:
				_, err = wcl.Insert(wctx, &pb.InsertRequest{Collection: "items", Rows: backupRows(10_000+i*10, 10, 0, true)})
			case 1:
				_, err = wcl.Upsert(wctx, &pb.InsertRequest{Collection: "items", Rows: backupRows(200+(i%1500), 5, int(i), true)})
			case 2:
				_, err = wcl.Delete(wctx, &pb.DeleteRequest{Collection: "items", IntIds: []int64{100 + i%1800}})
			}
			wcancel()
			if err == nil {
				writes.Add(1)
			}
		}
	}()
	for writes.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	dir := filepath.Join(t.TempDir(), "b1")
	m, err := backup.Create(ctx, cl, dir, []string{"items", "auto"}, backup.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	during := writes.Load()
	for writes.Load() < during+20 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	want, wantDigest := snapshotRows(t, ctx, cl, "items", m.Ts)
	now, _ := snapshotRows(t, ctx, cl, "items", 0)
	if slices.Equal(want, now) {
		t.Fatal("the writer changed nothing after the backup: the test cannot tell a cut from the latest state")
	}
	wantAuto, wantAutoDigest := snapshotRows(t, ctx, cl, "auto", m.Ts)
	if got := int(m.Collections[0].Rows); got != len(want) {
		t.Fatalf("manifest says %d rows of items, the STRONG read as of ts %d has %d", got, m.Ts, len(want))
	}

	// With one replica per shard, some node has no replica of a shard of
	// "auto" and relays that shard's export from the node that has one:
	// every node answers the same rows.
	for i := range src.nodes {
		st, err := src.client(i).Export(ctx, &pb.ExportRequest{Collection: "auto", AsOfTs: m.Ts})
		rows := 0
		for err == nil {
			var msg *pb.ExportResponse
			if msg, err = st.Recv(); err == nil {
				rows += len(msg.Rows.GetIntIds())
			}
		}
		if err != io.EOF || rows != len(wantAuto) {
			t.Fatalf("export of auto through node %d: %d rows, %v; want %d", i, rows, err, len(wantAuto))
		}
	}

	dst := mustCluster(t, 1, nil)
	dcl := dst.client()
	// Item 2 first, on the fresh cluster: bad backups create nothing.
	bad := func(what string, damage func(dir string, sf backup.ShardFile)) {
		t.Helper()
		bdir := filepath.Join(t.TempDir(), what)
		if err := os.CopyFS(bdir, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		sf := m.Collections[0].Shards[1]
		damage(bdir, sf)
		_, err := backup.Restore(ctx, dcl, bdir, backup.RestoreOptions{Shards: 3})
		if err == nil || !strings.Contains(err.Error(), sf.File) {
			t.Fatalf("%s: restore answered %v, want an error naming %s", what, err, sf.File)
		}
		t.Logf("%s: %v", what, err)
		names, err := dcl.ListCollections(ctx)
		if err != nil || len(names) != 0 {
			t.Fatalf("%s: after the refused restore the cluster has collections %v (%v), want none", what, names, err)
		}
	}
	bad("flipped byte", func(dir string, sf backup.ShardFile) {
		p := filepath.Join(dir, sf.File)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x10
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	bad("truncated", func(dir string, sf backup.ShardFile) {
		if err := os.Truncate(filepath.Join(dir, sf.File), sf.Bytes-7); err != nil {
			t.Fatal(err)
		}
	})
	bad("missing file", func(dir string, sf backup.ShardFile) {
		if err := os.Remove(filepath.Join(dir, sf.File)); err != nil {
			t.Fatal(err)
		}
	})

	restored, err := backup.Restore(ctx, dcl, dir, backup.RestoreOptions{Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 2 {
		t.Fatalf("restored %v, want items and auto", restored)
	}
	d, err := dcl.DescribeCollection(ctx, "items")
	if err != nil || len(d.Shards) != 3 {
		t.Fatalf("restored items: %v, %v; want 3 shards", d, err)
	}
	got, gotDigest := snapshotRows(t, ctx, dcl, "items", 0)
	if gotDigest != wantDigest {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("first difference at row %d:\n got %s\nwant %s", i, got[i], want[i])
				break
			}
		}
		t.Fatalf("restored items: %d rows, digest %s; the original as of ts %d: %d rows, digest %s", len(got), gotDigest, m.Ts, len(want), wantDigest)
	}
	gotAuto, gotAutoDigest := snapshotRows(t, ctx, dcl, "auto", 0)
	if gotAutoDigest != wantAutoDigest {
		t.Fatalf("restored auto: %d rows, digest %s; want %d rows, digest %s", len(gotAuto), gotAutoDigest, len(wantAuto), wantAutoDigest)
	}
	ix, err := dcl.DescribeIndex(ctx, "items")
	if err != nil || ix.IndexType != "HNSW" || ix.M != 12 || ix.EfConstruction != 100 {
		t.Fatalf("restored index: %v, %v; want HNSW m 12 ef_construction 100", ix, err)
	}
	// New auto ids land above the restored ones.
	resp, err := dcl.Insert(ctx, &pb.InsertRequest{Collection: "auto", Rows: backupRows(0, 50, 9, false)})
	if err != nil {
		t.Fatalf("insert into the restored auto_id collection: %v", err)
	}
	for _, id := range resp.AutoIds {
		if id <= m.Collections[1].MaxIntID {
			t.Fatalf("new auto id %d is not above the restored ones (max %d)", id, m.Collections[1].MaxIntID)
		}
	}
	// Restoring again over the existing collections is refused.
	if _, err := backup.Restore(ctx, dcl, dir, backup.RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("restore over existing collections: %v, want a refusal", err)
	}
}

// A restore whose target exists without the restoring user seeing it (no
// read privilege, so ListCollections leaves it out) is refused by
// CreateCollection, and the existing collection is left alone: a restore
// drops only what it created.
func TestRestoreLeavesAnExistingCollectionAlone(t *testing.T) {
	c, sec := mustSecureCluster(t, 1)
	root := c.as(fsm.RootUser, sec.rootPasswd, 0)
	ctx := ctxT(t, 60*time.Second)
	for _, name := range []string{"src", "kept"} {
		if err := root.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: name}, Dim: dim, Metric: pb.Metric_L2, Shards: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Insert(ctx, &pb.InsertRequest{Collection: name, Rows: versionRows(1, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "b")
	if _, err := backup.Create(ctx, root, dir, []string{"src"}, backup.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	authDo(t, root, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		if _, err := a.CreateUser(ctx, &pb.CreateUserRequest{Name: "op", Password: "op-password"}, o...); err != nil {
			return nil, err
		}
		if _, err := a.CreateRole(ctx, &pb.RoleRequest{Name: "ops"}, o...); err != nil {
			return nil, err
		}
		for _, p := range []string{"manage", "write"} {
			if _, err := a.GrantPrivilege(ctx, &pb.PrivilegeRequest{Role: "ops", Privilege: p, Collection: "*"}, o...); err != nil {
				return nil, err
			}
		}
		return a.GrantRole(ctx, &pb.UserRoleRequest{User: "op", Role: "ops"}, o...)
	})
	op := c.as("op", "op-password", 0)
	_, err := backup.Restore(ctx, op, dir, backup.RestoreOptions{As: "kept"})
	if err == nil || strings.Contains(err.Error(), "dropped") {
		t.Fatalf("restore over a collection the user cannot see: %v; want a refusal that drops nothing", err)
	}
	if n := rowCount(t, root, "kept"); n != 1 {
		t.Fatalf("the existing collection has %d rows after the refused restore, want its 1", n)
	}
}
