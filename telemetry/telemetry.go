package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Scope names the instrumentation in every span raftvec starts itself.
const Scope = "github.com/raftvec/raftvec"

// noSpan is what Start returns when the context is not traced: ending it
// does nothing (it must not be the context's span, which is not ours to end).
var noSpan = trace.SpanFromContext(context.Background())

// Start starts span name as a child of the recording span in ctx, with
// that span's tracer provider. Without one (tracing off, or the request not
// sampled) it returns ctx and a span that records nothing: the cost is a
// context lookup, so callers set attributes only when span.IsRecording().
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noSpan
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, opts...)
}

// End ends span, marking it failed with err if err is not nil.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Propagator carries the trace context between nodes in gRPC metadata:
// W3C tracecontext (traceparent, tracestate), what collectors and other
// services expect.
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }
