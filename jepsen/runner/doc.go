// Package runner owns one consistency run from start to verdict: it builds
// the cluster (jepsen/cluster), runs the workload's workers
// (jepsen/workload) and the nemesis (jepsen/nemesis) side by side for a
// bounded time, then heals every fault, kills and restarts every node,
// waits for leaders, takes the final reads, compares the replicas
// (convergence), runs the checkers (jepsen/check) and writes the run
// directory: history.jsonl, nemesis.jsonl, results.json, logs/nK.log and
// index.html.
//
// It also runs the scripted controls (a deposed leader read through an
// unsafe server, a re-sent request id without dedup) whose verdicts are
// known in advance, and writes the summary page docs/jepsen.md.
package runner
