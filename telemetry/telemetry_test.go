package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/raftvec/raftvec/telemetry"
)

// A log line logged with the context of a traced request carries its
// trace and span ids; one logged without stays as it was.
func TestLogHandlerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewTextHandler(&buf, nil))).With("node", "n1")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	log.InfoContext(ctx, "traced")
	log.Info("untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	sc := span.SpanContext()
	for _, want := range []string{"msg=traced", "node=n1", "trace_id=" + sc.TraceID().String(), "span_id=" + sc.SpanID().String()} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("traced line %q lacks %q", lines[0], want)
		}
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("untraced line %q has a trace id", lines[1])
	}
}

// Start makes a child of the context's recording span with that span's
// provider, and nothing at all without one.
func TestStart(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	_, child := telemetry.Start(ctx, "child")
	telemetry.End(child, errors.New("boom"))
	parent.End()
	_, none := telemetry.Start(context.Background(), "orphan")
	if none.IsRecording() {
		t.Fatal("a span started without a traced context records")
	}
	none.End()
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "child" || spans[1].Name != "parent" {
		t.Fatalf("spans %v, want child then parent", spans)
	}
	if spans[0].Parent.SpanID() != spans[1].SpanContext.SpanID() {
		t.Error("child's parent is not the context's span")
	}
	if spans[0].Status.Code != codes.Error || spans[0].Status.Description != "boom" {
		t.Errorf("child status %+v, want the error", spans[0].Status)
	}
}
