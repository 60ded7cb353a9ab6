package rpc_test

import (
	"context"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// Sealed segments get indexed on every replica in the background, and
// STRONG searches stay correct while the builds run.
func TestSealedSegmentsIndexedOnEveryReplica(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.SealRows = 100 })
	ctx := ctxT(t, 90*time.Second)
	cl := c.client()
	const d, n = 16, 1200
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "x"}, Dim: d, Metric: pb.Metric_L2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	vecs := make(map[int64][]float32, n)
	for b := 0; b < n/200; b++ {
		rows := &pb.Rows{}
		for i := 0; i < 200; i++ {
			id := int64(b*200 + i)
			v := make([]float32, d)
			for j := range v {
				v[j] = rng.Float32()
			}
			vecs[id] = v
			rows.IntIds = append(rows.IntIds, id)
			rows.Vectors = append(rows.Vectors, v...)
		}
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "x", Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: "x", IndexType: "hnsw", M: 16, EfConstruction: 100}); err != nil {
		t.Fatal(err)
	}
	// Search while the replicas build.
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w)))
			wc := c.client(w)
			for i := 0; i < 30; i++ {
				id := int64(r.Intn(n))
				res, err := wc.Search(ctx, &pb.SearchRequest{Collection: "x", Vectors: vecs[id], TopK: 1, Ef: 200,
					Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
				if err != nil {
					errs <- err.Error()
					return
				}
				if h := res.Results[0].Hits; len(h) != 1 || h[0].IntId != id {
					errs <- "search for a stored vector did not return its own row"
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	// Every replica ends with every sealed segment indexed.
	deadline := time.Now().Add(60 * time.Second)
	for _, nd := range c.nodes {
		for {
			st, err := cl.Status(ctx, nd.api)
			if err != nil {
				t.Fatal(err)
			}
			done := false
			for _, g := range st.Groups {
				if strings.HasPrefix(g.Group, "shard-") && g.SealedSegments >= uint32(n/100)-1 && g.IndexedSegments == g.SealedSegments {
					done = true
				}
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not index its sealed segments: %v", nd.id, st.Groups)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	di, err := cl.DescribeIndex(ctx, "x")
	if err != nil || di.IndexType != "HNSW" || di.M != 16 || di.IndexedSegments != di.SealedSegments {
		t.Fatalf("describe index: %v %v", di, err)
	}
	// With the indexes in place, results still find the stored vectors.
	for id := int64(0); id < n; id += 97 {
		res, err := cl.Search(context.Background(), &pb.SearchRequest{Collection: "x", Vectors: vecs[id], TopK: 1, Ef: 200})
		if err != nil || res.Results[0].Hits[0].IntId != id {
			t.Fatalf("indexed search for %d: %v %v", id, res, err)
		}
	}
}

// IVF_PQ end to end on a small collection: a pq_m that does not divide dim
// is refused with INVALID_ARGUMENT naming the field and the limit, the
// default pq_m is resolved from dim and described, the segments get built,
// and searches (with refine) still find the stored vectors.
func TestCreateIndexIVFPQ(t *testing.T) {
	c := mustCluster(t, 1, func(hc *shard.HostConfig) { hc.SealRows = 300 })
	ctx := ctxT(t, 90*time.Second)
	cl := c.client()
	const d, n = 16, 1200
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "pq"}, Dim: d, Metric: pb.Metric_L2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(4))
	vecs := make([][]float32, n)
	rows := &pb.Rows{}
	for id := range vecs {
		v := make([]float32, d)
		for j := range v {
			v[j] = rng.Float32()
		}
		vecs[id] = v
		rows.IntIds = append(rows.IntIds, int64(id))
		rows.Vectors = append(rows.Vectors, v...)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "pq", Rows: rows}); err != nil {
		t.Fatal(err)
	}
	err := cl.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: "pq", IndexType: "IVF_PQ", Nlist: 8, PqM: 5})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "pq_m (5) must divide dim (16)") {
		t.Fatalf("pq_m 5 at dim 16: %v; want INVALID_ARGUMENT naming pq_m and dim", err)
	}
	if di, err := cl.DescribeIndex(ctx, "pq"); err != nil || di.IndexType != "" {
		t.Fatalf("a refused CreateIndex left an index: %v %v", di, err)
	}
	if err := cl.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: "pq", IndexType: "ivf_pq", Nlist: 8}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		di, err := cl.DescribeIndex(ctx, "pq")
		if err != nil {
			t.Fatal(err)
		}
		if di.IndexType != "IVF_PQ" || di.PqM != 4 || di.Nlist != 8 {
			t.Fatalf("describe index: %v; want IVF_PQ, nlist 8, default pq_m 4 (16/4)", di)
		}
		if di.SealedSegments >= n/300-1 && di.IndexedSegments == di.SealedSegments {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("segments not indexed: %v", di)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id := 0; id < n; id += 37 {
		res, err := cl.Search(ctx, &pb.SearchRequest{Collection: "pq", Vectors: vecs[id], TopK: 3, Nprobe: 8, Refine: 16})
		if err != nil || len(res.Results[0].Hits) != 3 || res.Results[0].Hits[0].IntId != int64(id) || res.Results[0].Hits[0].Score != 0 {
			t.Fatalf("IVF_PQ search for %d: %v %v", id, res, err)
		}
	}
	_, err = cl.Search(ctx, &pb.SearchRequest{Collection: "pq", Vectors: vecs[0], TopK: 3, Refine: 1000})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "refine (1000) must be between 1 and 256") {
		t.Fatalf("refine 1000: %v; want INVALID_ARGUMENT", err)
	}
}
