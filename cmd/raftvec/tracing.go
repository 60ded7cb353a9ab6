package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/raftvec/raftvec/telemetry/otlp"
)

// startTracing returns the node's tracer provider when --otlp-endpoint is
// set (nil, tracing off, otherwise) and a stop function that flushes the
// spans still queued, for at most a few seconds. It does not wait for the
// collector: one that is down costs dropped spans and warnings, never a
// request.
func startTracing(logger *slog.Logger, sf serverFlags) (trace.TracerProvider, func(), error) {
	if r := sf.TraceSampleRatio; r < 0 || r > 1 || math.IsNaN(r) {
		return nil, nil, fmt.Errorf("trace-sample-ratio (%v) must be between 0 and 1", r)
	}
	if sf.OTLPEndpoint == "" {
		return nil, func() {}, nil
	}
	// The SDK reports export failures (a collector down or refusing)
	// through otel's one global error handler.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("tracing", "err", err) }))
	tp, err := otlp.NewProvider(context.Background(), otlp.Config{Endpoint: sf.OTLPEndpoint, Insecure: sf.OTLPInsecure,
		SampleRatio: sf.TraceSampleRatio, NodeID: sf.NodeID})
	if err != nil {
		return nil, nil, err
	}
	logger.Info("tracing on", "otlp_endpoint", sf.OTLPEndpoint, "insecure", sf.OTLPInsecure, "sample_ratio", sf.TraceSampleRatio)
	return tp, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			logger.Warn("tracing: flushing spans at shutdown", "err", err)
		}
	}, nil
}
