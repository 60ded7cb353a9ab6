package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Tracing is off unless --otlp-endpoint is given; the flags and their
// config-file keys set it up, and a ratio outside 0..1 is refused.
func TestTracingFlags(t *testing.T) {
	sf, err := parseServerFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if sf.OTLPEndpoint != "" || sf.TraceSampleRatio != 1 {
		t.Fatalf("defaults: endpoint %q ratio %v; want off, 1", sf.OTLPEndpoint, sf.TraceSampleRatio)
	}
	tp, stop, err := startTracing(nil, sf)
	if err != nil || tp != nil {
		t.Fatalf("no endpoint: provider %v, err %v; want none", tp, err)
	}
	stop()

	sf, err = parseServerFlags([]string{"--otlp-endpoint", "127.0.0.1:4317", "--otlp-insecure", "--trace-sample-ratio", "0.25"})
	if err != nil {
		t.Fatal(err)
	}
	if sf.OTLPEndpoint != "127.0.0.1:4317" || !sf.OTLPInsecure || sf.TraceSampleRatio != 0.25 {
		t.Fatalf("flags: %+v", sf)
	}
	cfg := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(cfg, []byte(`{"otlp_endpoint": "collector:4317", "otlp_insecure": true, "trace_sample_ratio": 0.5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if sf, err = parseServerFlags([]string{"--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if sf.OTLPEndpoint != "collector:4317" || !sf.OTLPInsecure || sf.TraceSampleRatio != 0.5 {
		t.Fatalf("config file: %+v", sf)
	}

	sf.TraceSampleRatio = 1.5
	if _, _, err := startTracing(nil, sf); err == nil {
		t.Fatal("a sample ratio of 1.5 was accepted")
	}
}
