// Package search owns the read side of vector search: the Segment reader
// interface that the growing segment and sealed segments both implement (as
// the Prometheus tsdb Head and Blocks share BlockReader), per-segment search,
// the top-k merge across segments, and the reduce across shards. The filter
// expression language lives in search/expr.
//
// It must not import raftnode, fsm or rpc.
package search
