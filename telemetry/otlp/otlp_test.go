package otlp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/raftvec/raftvec/telemetry/otlp"
)

// New traces are sampled by ratio, except those an outgoing call would
// start (a node's background calls); children follow their parent.
func TestSampler(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(otlp.Sampler(1)))
	tr := tp.Tracer("test")
	ctx, req := tr.Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer))
	_, call := tr.Start(ctx, "call", trace.WithSpanKind(trace.SpanKindClient))
	call.End()
	req.End()
	bctx, bg := tr.Start(context.Background(), "background", trace.WithSpanKind(trace.SpanKindClient))
	if bg.IsRecording() || !bg.SpanContext().IsValid() {
		t.Error("a root client span should be dropped, its context still valid (to tell the callee)")
	}
	_, callee := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), trace.SpanContextFromContext(bctx)), "callee",
		trace.WithSpanKind(trace.SpanKindServer))
	if callee.IsRecording() {
		t.Error("the callee of a dropped call records")
	}
	if got := len(exp.GetSpans()); got != 2 {
		t.Errorf("%d spans recorded, want the request and its call", got)
	}
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(otlp.Sampler(0)))
	if _, s := never.Tracer("test").Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer)); s.IsRecording() {
		t.Error("ratio 0 sampled a request")
	}
}

// A provider for a collector that is not there is made without waiting
// for it, and its shutdown gives up at its deadline.
func TestNewProviderDoesNotWaitForTheCollector(t *testing.T) {
	if _, err := otlp.NewProvider(context.Background(), otlp.Config{Endpoint: "127.0.0.1:1", SampleRatio: 2}); err == nil {
		t.Error("a ratio of 2 was accepted")
	}
	tp, err := otlp.NewProvider(context.Background(), otlp.Config{Endpoint: "127.0.0.1:1", Insecure: true, SampleRatio: 1, NodeID: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown: %v", err)
	}
}
