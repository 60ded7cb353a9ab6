// Package benchutil is what the cluster benchmarks under bench/cmd share:
// child processes that are killed on every exit path, a three-node raftvec
// cluster on loopback, a closed-loop load generator with latency
// percentiles, and the pieces of the markdown report (machine description,
// reproducing command, one delimited section of docs/benchmarks.md).
package benchutil
