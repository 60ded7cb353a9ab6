// Package nemesis owns the faults of a consistency run: what each fault does
// to the cluster (kill -9, SIGSTOP, Raft link cuts in several topologies,
// clock offsets, slow applies, a random mix), how it is healed, the
// schedule that alternates quiet periods with faults, and the timeline of
// what was injected when (history.NemesisEvent), which the report draws on
// the porcupine timeline.
//
// Faults are injected one at a time: each is healed before the next one
// starts, so a run's timeline is a sequence of intervals. Randomness (which
// node, which split) comes from an injected *rand.Rand, so a seed replays
// the same choices.
package nemesis
