package rpc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/raftvec/raftvec/rpc"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/telemetry/otlp"
)

// tracedCluster starts three nodes, each tracing into its own in-memory
// exporter with the sampler and resource the server uses, so that every
// span says which node made it.
func tracedCluster(t *testing.T) (*testCluster, []*tracetest.InMemoryExporter) {
	exps := make([]*tracetest.InMemoryExporter, 3)
	c := runCluster(&testCluster{t: t, rpcOpts: func(i int, o *rpc.Options) {
		exps[i] = tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exps[i]), sdktrace.WithSampler(otlp.Sampler(1)),
			sdktrace.WithResource(otlp.Resource(fmt.Sprintf("n%d", i+1))))
		t.Cleanup(func() { tp.Shutdown(context.Background()) })
		o.TracerProvider = tp
	}}, 3)
	return c, exps
}

// spanOf is a finished span and the node whose exporter got it.
type spanOf struct {
	node int
	tracetest.SpanStub
}

func (s spanOf) String() string {
	return fmt.Sprintf("n%d %s (%s)", s.node+1, s.Name, s.SpanKind)
}

// instance is the service.instance.id a span's resource names.
func instance(s tracetest.SpanStub) string {
	for _, kv := range s.Resource.Attributes() {
		if kv.Key == "service.instance.id" {
			return kv.Value.AsString()
		}
	}
	return ""
}

// A STRONG search sent to a follower of the shard, with tracing on, is one
// trace across both nodes: the follower's span for the request it
// received, its read-index call to the leader, the leader's span for that
// call and its quorum round, and the index search, all under one trace id
// and one root. The follower's call must carry the trace to the leader for
// the leader's spans to join it.
func TestTracingFollowerSearchIsOneTrace(t *testing.T) {
	c, exps := tracedCluster(t)
	mustCreate(t, c, "tr")
	ctx := ctxT(t, 60*time.Second)
	mustInsert(t, c, "tr", seq(1, 20))
	c.converge("tr")
	lead := c.leaderOf("tr")
	f := (lead + 1) % 3
	cl := c.client(f)
	cl.SetDirect(false)
	for _, e := range exps {
		e.Reset()
	}
	const search = "raftvec.v1.RaftVec/Search"
	if _, err := cl.Search(ctx, &pb.SearchRequest{Collection: "tr", Vectors: []float32{3, 3.1, 3.2, 3.3}, TopK: 3,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}}); err != nil {
		t.Fatal(err)
	}
	// A server span ends after its answer is sent: wait for the request's.
	var root spanOf
	for deadline := time.Now().Add(10 * time.Second); ; {
		for _, s := range exps[f].GetSpans() {
			if s.Name == search && s.SpanKind == trace.SpanKindServer {
				root = spanOf{f, s}
			}
		}
		if root.Name != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower n%d recorded no %s span", f+1, search)
		}
		time.Sleep(20 * time.Millisecond)
	}
	id := root.SpanContext.TraceID()
	var spans []spanOf
	collect := func() {
		spans = spans[:0]
		for i, e := range exps {
			for _, s := range e.GetSpans() {
				if s.SpanContext.TraceID() == id {
					spans = append(spans, spanOf{i, s})
				}
			}
		}
	}
	has := func(node int, name string, kind trace.SpanKind) bool {
		return slices.ContainsFunc(spans, func(s spanOf) bool { return s.node == node && s.Name == name && s.SpanKind == kind })
	}
	const readIndex = "raftvec.v1.Admin/ReadIndex"
	// The leader's spans may end a moment after the follower's.
	for deadline := time.Now().Add(5 * time.Second); ; {
		collect()
		if has(lead, readIndex, trace.SpanKindServer) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("trace %s: %v", id, spans)
	want := []struct {
		node int
		name string
		kind trace.SpanKind
	}{
		{f, search, trace.SpanKindServer},
		{f, "shard.read_ts", trace.SpanKindInternal},
		{f, readIndex, trace.SpanKindClient},
		{lead, readIndex, trace.SpanKindServer},
		{lead, "raft.read_index", trace.SpanKindInternal},
	}
	for _, w := range want {
		if !has(w.node, w.name, w.kind) {
			t.Errorf("no %s span (%s) on n%d (the %s) in the request's trace", w.name, w.kind, w.node+1, map[bool]string{true: "leader", false: "follower"}[w.node == lead])
		}
	}
	// The index search runs on the follower, unless it fell behind by more
	// than it may wait and sent the read on to the leader.
	if !has(f, "fsm.search", trace.SpanKindInternal) && !has(lead, "fsm.search", trace.SpanKindInternal) {
		t.Errorf("no fsm.search span in the request's trace")
	}
	// One tree: a single root (the received request), every other span's
	// parent in the trace, and every span named for the node that made it.
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID()] = true
	}
	for _, s := range spans {
		if got, want := instance(s.SpanStub), fmt.Sprintf("n%d", s.node+1); got != want {
			t.Errorf("%v: service.instance.id %q, want %q", s, got, want)
		}
		if s.SpanContext.SpanID() == root.SpanContext.SpanID() {
			if s.Parent.IsValid() {
				t.Errorf("the received request's span has a parent %s: the trace should start on the node that received it", s.Parent.SpanID())
			}
			continue
		}
		if !ids[s.Parent.SpanID()] {
			t.Errorf("%v: parent %s is not in the trace", s, s.Parent.SpanID())
		}
	}
	// Nodes record nothing of the request outside its trace.
	for i, e := range exps {
		for _, s := range e.GetSpans() {
			if s.SpanContext.TraceID() != id && (strings.HasPrefix(s.Name, "fsm.") || s.Name == search || s.Name == readIndex) {
				t.Errorf("n%d: span %s (%s) is outside the request's trace %s", i+1, s.Name, s.SpanKind, id)
			}
		}
	}
}

// With tracing off (no TracerProvider in rpc.Options) the same search is
// recorded nowhere, not even when the client sends a sampled trace context
// and otel's global provider records: the nodes neither read trace
// headers nor fall back to the global.
func TestTracingOffRecordsNothing(t *testing.T) {
	global := tracetest.NewInMemoryExporter()
	gtp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(global))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(gtp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); gtp.Shutdown(context.Background()) })

	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "off")
	mustInsert(t, c, "off", seq(1, 20))
	c.converge("off")
	f := (c.leaderOf("off") + 1) % 3
	cl := c.client(f)
	cl.SetDirect(false)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := metadata.AppendToOutgoingContext(ctxT(t, 60*time.Second), "traceparent", traceparent)
	if _, err := cl.Search(ctx, &pb.SearchRequest{Collection: "off", Vectors: []float32{3, 3.1, 3.2, 3.3}, TopK: 3,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // as long as a server span may end after its answer
	if spans := global.GetSpans(); len(spans) > 0 {
		t.Fatalf("tracing off, yet %d spans were recorded; the first: %s", len(spans), spans[0].Name)
	}
}
