// Package otlp builds a node's OpenTelemetry tracer provider: the sampler
// every node uses, and the OTLP/gRPC exporter to a collector. It is the SDK
// half of tracing; the spans themselves are started through package
// telemetry, which needs only the API.
//
// It imports only OpenTelemetry and the standard library.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config says where a node sends its spans.
type Config struct {
	// Endpoint is the collector's OTLP/gRPC address, host:port (port 4317
	// by convention).
	Endpoint string
	// Insecure sends spans in plaintext; otherwise over TLS, checked
	// against the system's roots.
	Insecure bool
	// SampleRatio is the fraction of new traces (requests that arrive
	// without a trace context) recorded, 0 to 1.
	SampleRatio float64
	// NodeID names the node in every span (service.instance.id).
	NodeID string
}

// Validate checks the fields, naming the one that is wrong.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return errors.New("otlp endpoint must not be empty")
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 || math.IsNaN(c.SampleRatio) {
		return fmt.Errorf("trace sample ratio (%v) must be between 0 and 1", c.SampleRatio)
	}
	return nil
}

// ServiceName is the service.name of every node's spans.
const ServiceName = "raftvec"

// NewProvider returns a tracer provider that batches spans and exports
// them to cfg.Endpoint. It does not wait for the collector: the connection
// is made in the background, a collector that is down costs only dropped
// spans (the queue is bounded and never blocks a request) and a warning
// from otel's error handler. Shut it down to flush what is queued.
func NewProvider(ctx context.Context, cfg Config) (*sdktrace.TracerProvider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.Endpoint)}
	if cfg.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter to %s: %w", cfg.Endpoint, err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithExportTimeout(10*time.Second)),
		sdktrace.WithSampler(Sampler(cfg.SampleRatio)),
		sdktrace.WithResource(Resource(cfg.NodeID)),
	), nil
}

// Resource names the service and the node.
func Resource(nodeID string) *resource.Resource {
	r, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", ServiceName),
		attribute.String("service.instance.id", nodeID),
	))
	if err != nil { // only on conflicting schema URLs, which a schemaless one cannot have
		return resource.NewSchemaless(attribute.String("service.name", ServiceName), attribute.String("service.instance.id", nodeID))
	}
	return r
}

// Sampler decides which spans are recorded. A span with a parent follows
// the parent's decision, so a trace is recorded on every node it crosses
// or on none. A new trace is recorded with probability ratio, unless its
// first span is an outgoing call (kind client): a node calls another on
// its own account only for background work (timestamp batches, placement
// steps, registration), which would otherwise fill the backend with
// traces no request asked for. The call's context still travels, marked
// not sampled, so the callee records nothing either.
func Sampler(ratio float64) sdktrace.Sampler {
	return sdktrace.ParentBased(rootSampler{sdktrace.TraceIDRatioBased(ratio)})
}

type rootSampler struct{ ratio sdktrace.Sampler }

func (s rootSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if p.Kind == trace.SpanKindClient {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	}
	return s.ratio.ShouldSample(p)
}

func (s rootSampler) Description() string {
	return "RaftvecRoot{" + s.ratio.Description() + ", no client roots}"
}
