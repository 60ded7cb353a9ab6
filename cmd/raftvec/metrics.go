package main

import (
	"net/http"
	"time"

	"github.com/armon/go-metrics"
	prommetrics "github.com/armon/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startMetrics routes every metric of the process into one
// armon/go-metrics registry and returns the handler that serves it in the
// Prometheus text format: Raft's (hashicorp/raft emits through
// hashicorp/go-metrics' compat layer, which forwards to armon/go-metrics),
// Serf's and memberlist's, and raftvec's own (rpc, shard). Names carry the
// "raftvec_" prefix, e.g. raftvec_raft_commitTime, raftvec_rpc_request.
func startMetrics() (http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// A series not updated for a minute (a shard that moved away) is
	// dropped rather than shown frozen.
	sink, err := prommetrics.NewPrometheusSinkFrom(prommetrics.PrometheusOpts{Registerer: reg, Expiration: time.Minute})
	if err != nil {
		return nil, err
	}
	conf := metrics.DefaultConfig("raftvec")
	conf.EnableHostname = false       // one process per node: the scrape target names it
	conf.EnableRuntimeMetrics = false // the Go collector above covers them
	if _, err := metrics.NewGlobal(conf, sink); err != nil {
		return nil, err
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
