package rpc_test

import (
	"context"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

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
