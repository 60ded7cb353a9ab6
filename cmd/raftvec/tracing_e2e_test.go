package main

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/raftvec/raftvec/rpc/pb"
)

// collector is an OTLP/gRPC trace receiver that keeps what it is sent.
type collector struct {
	collectorpb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []collected
}

type collected struct{ node, name, trace string }

func (c *collector) Export(_ context.Context, req *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		node := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.instance.id" {
				node = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, collected{node, s.Name, hex.EncodeToString(s.TraceId)})
			}
		}
	}
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

func (c *collector) get() []collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]collected(nil), c.spans...)
}

// Real processes with --otlp-endpoint send their spans to the collector:
// a STRONG search through a follower arrives there as one trace with spans
// of the follower and of the leader, each naming its node, and the audit
// line of a traced request carries a trace id.
func TestTracingToCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	col := &collector{}
	ln, err := net.Listen("tcp", freePort(t))
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	collectorpb.RegisterTraceServiceServer(gs, col)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // ms between batches, instead of 5 s
	procs := startProcs(t, 3, "--otlp-endpoint", ln.Addr().String(), "--otlp-insecure")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := clientOf(t, procs...)
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "tr"}, Dim: 4, Metric: pb.Metric_L2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "tr", Rows: &pb.Rows{IntIds: []int64{1, 2}, Vectors: []float32{1, 2, 3, 4, 5, 6, 7, 8}}}); err != nil {
		t.Fatal(err)
	}
	lead := shardLeader(ctx, t, cl, procs, nil)
	f := (lead + 1) % 3
	fcl := clientOf(t, procs[f])
	fcl.SetDirect(false)
	if _, err := fcl.Search(ctx, &pb.SearchRequest{Collection: "tr", Vectors: []float32{1, 2, 3, 4}, TopK: 1,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}}); err != nil {
		t.Fatal(err)
	}
	// crossing is a trace of the follower's search with a span the leader
	// sent (its read-index answer, or the search if the follower forwarded it).
	crossing := func(spans []collected) (collected, bool) {
		traces := map[string]bool{}
		for _, s := range spans {
			if s.node == procs[f].id && s.name == "raftvec.v1.RaftVec/Search" {
				traces[s.trace] = true
			}
		}
		for _, s := range spans {
			if traces[s.trace] && s.node == procs[lead].id {
				return s, true
			}
		}
		return collected{}, false
	}
	for {
		spans := col.get()
		if s, ok := crossing(spans); ok {
			perNode := map[string]int{}
			for _, x := range spans {
				if x.trace == s.trace {
					perNode[x.node]++
				}
			}
			t.Logf("trace %s: spans per node %v (the leader %s sent %s)", s.trace, perNode, s.node, s.name)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no trace of the follower's search with a span of the leader %s among %d spans: %v", procs[lead].id, len(spans), spans)
		}
		time.Sleep(100 * time.Millisecond)
	}
	audit := regexp.MustCompile(`msg=audit .*op=CreateCollection .*trace_id=[0-9a-f]{32} span_id=[0-9a-f]{16}`)
	for _, p := range procs {
		b, err := os.ReadFile(p.log)
		if err != nil {
			t.Fatal(err)
		}
		if audit.Match(b) {
			return
		}
	}
	t.Error("no node logged the CreateCollection audit line with a trace id")
}
