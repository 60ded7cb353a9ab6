package rpc

import (
	"context"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/raftvec/raftvec/telemetry"
)

// tracing holds a node's gRPC stats handlers for OpenTelemetry: the server
// one starts a span for every request received (continuing the caller's
// trace when the request carries a W3C traceparent), the client one a span
// for every call to another node, whose context it sends along. Spans of
// the layers below start from the one in the request's context
// (telemetry.Start), so they need no provider of their own.
//
// Off (no provider) there are no handlers at all: requests cost what they
// did before tracing existed.
type tracing struct {
	server, client stats.Handler
}

func newTracing(tp trace.TracerProvider) tracing {
	if tp == nil {
		return tracing{}
	}
	opts := []otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(telemetry.Propagator()),
		// Request latency is in /metrics already (raftvec_rpc_request).
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		// Load balancers' and probes' health checks are not requests.
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	}
	return tracing{server: otelgrpc.NewServerHandler(opts...), client: otelgrpc.NewClientHandler(opts...)}
}

func (t tracing) serverOptions() []grpc.ServerOption {
	if t.server == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(t.server)}
}

func (t tracing) dialOptions() []grpc.DialOption {
	if t.client == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(t.client)}
}

// startFanout starts the span of a request fanned out over shards.
func startFanout(ctx context.Context, shards int) (context.Context, trace.Span) {
	ctx, span := telemetry.Start(ctx, "rpc.fanout")
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("raftvec.shards", shards))
	}
	return ctx, span
}

// startShard starts the span of one shard's part of a fanned-out request.
func startShard(ctx context.Context, shardID uint64) (context.Context, trace.Span) {
	ctx, span := telemetry.Start(ctx, "rpc.shard")
	if span.IsRecording() {
		span.SetAttributes(attribute.Int64("raftvec.shard", int64(shardID)))
	}
	return ctx, span
}
