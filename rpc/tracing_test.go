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

// requestTrace waits until node's exporter has the server span of method
// (the request it received) and returns that span and every span of its
// trace on every node, once done says the trace is complete (or after a
// few seconds: spans of other nodes may end a moment later).
func requestTrace(t *testing.T, exps []*tracetest.InMemoryExporter, node int, method string, done func([]spanOf) bool) (spanOf, []spanOf) {
	t.Helper()
	var root spanOf
	for deadline := time.Now().Add(10 * time.Second); root.Name == ""; time.Sleep(20 * time.Millisecond) {
		for _, s := range exps[node].GetSpans() {
			if s.Name == method && s.SpanKind == trace.SpanKindServer {
				root = spanOf{node, s}
			}
		}
		if root.Name == "" && time.Now().After(deadline) {
			t.Fatalf("n%d recorded no %s span", node+1, method)
		}
	}
	id := root.SpanContext.TraceID()
	var spans []spanOf
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		spans = spans[:0]
		for i, e := range exps {
			for _, s := range e.GetSpans() {
				if s.SpanContext.TraceID() == id {
					spans = append(spans, spanOf{i, s})
				}
			}
		}
		if done(spans) || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("trace %s: %v", id, spans)
	return root, spans
}

func has(spans []spanOf, node int, name string, kind trace.SpanKind) bool {
	return slices.ContainsFunc(spans, func(s spanOf) bool { return s.node == node && s.Name == name && s.SpanKind == kind })
}

type wantSpan struct {
	node int
	name string
	kind trace.SpanKind
}

// checkTrace fails the test unless spans hold every wanted span and form
// one tree under root, each span named for the node that made it.
func checkTrace(t *testing.T, root spanOf, spans []spanOf, lead int, want []wantSpan) {
	t.Helper()
	for _, w := range want {
		if !has(spans, w.node, w.name, w.kind) {
			t.Errorf("no %s span (%s) on n%d (the %s) in the request's trace", w.name, w.kind, w.node+1,
				map[bool]string{true: "leader", false: "follower"}[w.node == lead])
		}
	}
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
}

// A STRONG search sent to a follower of the shard, with tracing on, is one
// trace across both nodes: the follower's span for the request it
// received, its read-index call to the leader, the leader's span for that
// call and its quorum round, and the index search, all under one trace id
// and one root. The follower's call must carry the trace to the leader for
// the leader's spans to join it. A write sent to the follower is one trace
// too: the follower forwards it, and the leader's part (its proposal,
// through commit and apply) joins the trace.
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
	const search, readIndex = "raftvec.v1.RaftVec/Search", "raftvec.v1.Admin/ReadIndex"
	if _, err := cl.Search(ctx, &pb.SearchRequest{Collection: "tr", Vectors: []float32{3, 3.1, 3.2, 3.3}, TopK: 3,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}}); err != nil {
		t.Fatal(err)
	}
	root, spans := requestTrace(t, exps, f, search, func(s []spanOf) bool { return has(s, lead, readIndex, trace.SpanKindServer) })
	checkTrace(t, root, spans, lead, []wantSpan{
		{f, search, trace.SpanKindServer},
		{f, "shard.read_ts", trace.SpanKindInternal},
		{f, readIndex, trace.SpanKindClient},
		{lead, readIndex, trace.SpanKindServer},
		{lead, "raft.read_index", trace.SpanKindInternal},
	})
	// The index search runs on the follower, unless it fell behind by more
	// than it may wait and sent the read on to the leader.
	if !has(spans, f, "fsm.search", trace.SpanKindInternal) && !has(spans, lead, "fsm.search", trace.SpanKindInternal) {
		t.Errorf("no fsm.search span in the request's trace")
	}
	// Nodes record nothing of the request outside its trace.
	for i, e := range exps {
		for _, s := range e.GetSpans() {
			if s.SpanContext.TraceID() != root.SpanContext.TraceID() && (strings.HasPrefix(s.Name, "fsm.") || s.Name == search || s.Name == readIndex) {
				t.Errorf("n%d: span %s (%s) is outside the request's trace %s", i+1, s.Name, s.SpanKind, root.SpanContext.TraceID())
			}
		}
	}

	const upsert = "raftvec.v1.RaftVec/Upsert"
	if _, err := cl.Upsert(ctx, &pb.InsertRequest{Collection: "tr", Rows: vecRows([]int64{7}, dim)}); err != nil {
		t.Fatal(err)
	}
	root, spans = requestTrace(t, exps, f, upsert, func(s []spanOf) bool { return has(s, lead, "raft.propose", trace.SpanKindInternal) })
	checkTrace(t, root, spans, lead, []wantSpan{
		{f, upsert, trace.SpanKindServer},
		{f, "rpc.forward", trace.SpanKindInternal},
		{f, upsert, trace.SpanKindClient},
		{lead, upsert, trace.SpanKindServer},
		{lead, "shard.propose", trace.SpanKindInternal},
		{lead, "raft.propose", trace.SpanKindInternal},
	})
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
