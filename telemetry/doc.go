// Package telemetry is the part of tracing every layer shares: starting a
// span as a child of the one in the context (Start, End), the W3C trace
// context propagator used between nodes, and a log/slog handler that adds
// the trace and span ids of the context to each record (LogHandler).
//
// It holds no tracer provider of its own and reads none from otel's
// globals: a span's tracer comes from the span in the context, which the
// gRPC server handler of the node started with the node's provider. A
// request that arrives untraced (tracing off, or not sampled) carries no
// recording span, and Start then does nothing but look at the context.
//
// The SDK side (the provider, its sampler and the OTLP exporter) is in
// telemetry/otlp, which only the wiring (rpc, cmd/raftvec) imports.
//
// telemetry imports only OpenTelemetry's API and the standard library.
package telemetry
