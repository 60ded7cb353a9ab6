package benchutil

import (
	"fmt"
	"runtime"
	"sort"
	"time"
)

// ScalePoint is one shard count's measurement in a scaling series: the
// same load against a collection of Shards shards.
type ScalePoint struct {
	Shards   int
	Units    int64   // vectors written or queries answered in the window
	Rate     float64 // Units per second
	P50, P99 time.Duration
	Errs     int64
	CPU      CPUUsage // over the measured window
	Idle     CPUUsage // over a window with no load, right before it (zero if not measured)
	Leaders  []string // shard leaders, in shard order
}

// CPUPerUnit is the CPU time the raftvec servers and the load generator
// together spent per unit (0 without units or CPU figures).
func (p ScalePoint) CPUPerUnit() time.Duration {
	if p.Units <= 0 {
		return 0
	}
	return (p.CPU.Children + p.CPU.Self) / time.Duration(p.Units)
}

// ServerCPUPerUnit is the raftvec servers' CPU time per unit.
func (p ScalePoint) ServerCPUPerUnit() time.Duration {
	if p.Units <= 0 {
		return 0
	}
	return p.CPU.Children / time.Duration(p.Units)
}

// CPUCell describes where the machine's CPU went during a point, e.g.
// "97% (srv 1.52, gen 0.31, other 0.11)", in CPUs kept busy.
func CPUCell(u CPUUsage) string {
	if u.All <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%% (srv %.2f, gen %.2f, other %.2f)", 100*u.BusyFrac(), u.Cores(u.Children), u.Cores(u.Self), u.Cores(u.Others()))
}

// ScaleOverhead is the markdown bullets on per-shard overhead of a series
// (at least two shard counts with successful requests): throughput and
// p50 of the fewest against the most shards, and CPU per unit (the cost
// that does not depend on how busy the machine was), each also per added
// shard; then whether the machine was CPU-bound. what names the series
// (e.g. "32 clients × batch 100"), unit the unit ("vector", "query").
func ScaleOverhead(pts []ScalePoint, what, unit string) []string {
	ps := make([]ScalePoint, 0, len(pts))
	for _, p := range pts {
		if p.Units > 0 {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Shards < ps[j].Shards })
	if len(ps) < 2 || ps[0].Shards == ps[len(ps)-1].Shards {
		return []string{fmt.Sprintf("- %s: fewer than two shard counts with successful requests, so no per-shard overhead is computed.", what)}
	}
	a, z := ps[0], ps[len(ps)-1]
	added := float64(z.Shards - a.Shards)
	var out []string
	drop := 1 - z.Rate/a.Rate
	out = append(out, fmt.Sprintf("- %s: throughput(%d)/throughput(%d) = **%.2f×** (%.0f vs %.0f per second), i.e. %+.1f%% of the throughput at %s per added shard.",
		what, a.Shards, z.Shards, a.Rate/z.Rate, a.Rate, z.Rate, -100*drop/added, shardsStr(a.Shards)))
	dp50 := z.P50 - a.P50
	out = append(out, fmt.Sprintf("- %s: p50 %s → %s, **%s%s** in all, %s%s per added shard.",
		what, FmtDur(a.P50), FmtDur(z.P50), sign(dp50), FmtDur(abs(dp50)), sign(dp50), FmtDur(abs(time.Duration(float64(dp50)/added)))))
	if ca, cz := a.CPUPerUnit(), z.CPUPerUnit(); ca > 0 && cz > 0 {
		dc := cz - ca
		out = append(out, fmt.Sprintf("- %s: CPU per %s (servers + load generator) %s → %s, **%s%s per added shard** (%+.0f%% per added shard); servers alone %s → %s.",
			what, unit, FmtCPU(ca), FmtCPU(cz), sign(dc), FmtCPU(abs(time.Duration(float64(dc)/added))), 100*float64(dc)/float64(ca)/added,
			FmtCPU(a.ServerCPUPerUnit()), FmtCPU(z.ServerCPUPerUnit())))
	}
	minBusy, minOurs, maxOurs, maxOther := 1.0, 1e9, 0.0, 0.0
	var low ScalePoint
	for _, p := range ps {
		ours := p.CPU.Cores(p.CPU.Children + p.CPU.Self)
		minBusy = min(minBusy, p.CPU.BusyFrac())
		if ours < minOurs {
			minOurs, low = ours, p
		}
		maxOurs = max(maxOurs, ours)
		maxOther = max(maxOther, p.CPU.Cores(p.CPU.Others()))
	}
	if ps[0].CPU.All > 0 {
		l := fmt.Sprintf("- %s: the machine's %d CPUs were at least %.0f%% busy at every shard count; raftvec (servers + load generator) kept %.2f–%.2f CPUs busy and other processes on the machine up to %.2f.",
			what, runtime.NumCPU(), 100*minBusy, minOurs, maxOurs, maxOther)
		switch {
		case minBusy < 0.85:
			l += " At the least busy point the cores were not saturated, so that point is bounded by waiting (Raft rounds, fan-out hops, time ticks) rather than by CPU."
		default:
			l += " The curve is bounded by CPU: every shard's three replicas share the same cores, so extra shards cannot add throughput here, only their overhead."
			if maxOther >= 0.25 {
				l += fmt.Sprintf(" Not all of that CPU was raftvec's: other processes on this shared machine took up to %.2f CPUs, so the absolute rates are below what an idle machine gives; CPU per %s is the figure that does not depend on that.", maxOther, unit)
			}
			if minOurs < 0.75*maxOurs {
				l += fmt.Sprintf(" At %s raftvec got only %.2f CPUs (up to %.2f at other counts) and other processes the rest: either raftvec waited more there (Raft rounds, fan-out hops, time ticks) or the other processes wanted more CPU during that window; one run cannot tell which.", shardsStr(low.Shards), minOurs, maxOurs)
			}
		}
		out = append(out, l)
	}
	return out
}

// IdleOverhead is the markdown bullet on the idle servers' CPU of the
// fewest against the most shards of a series (what the servers spend with
// no requests: heartbeats, time ticks), or "" when it was not measured.
func IdleOverhead(pts []ScalePoint, what string) string {
	ps := append([]ScalePoint(nil), pts...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Shards < ps[j].Shards })
	if len(ps) < 2 || ps[0].Shards == ps[len(ps)-1].Shards {
		return ""
	}
	a, z := ps[0], ps[len(ps)-1]
	ia, iz := a.Idle, z.Idle
	if ia.Wall <= 0 || iz.Wall <= 0 {
		return ""
	}
	ca, cz := ia.Cores(ia.Children), iz.Cores(iz.Children)
	return fmt.Sprintf("- %s: idle servers (no requests, %s before the load) kept %.3f CPUs busy at %s and %.3f at %s, **%+.3f CPUs per added shard**: the background cost of one more Raft group with three replicas (heartbeats, time ticks).",
		what, ia.Wall.Round(100*time.Millisecond), ca, shardsStr(a.Shards), cz, shardsStr(z.Shards), (cz-ca)/float64(z.Shards-a.Shards))
}

func shardsStr(n int) string {
	if n == 1 {
		return "1 shard"
	}
	return fmt.Sprintf("%d shards", n)
}

func sign(d time.Duration) string {
	if d < 0 {
		return "−"
	}
	return "+"
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// FmtCPU formats a CPU time per unit (finer than FmtDur below 1 ms).
func FmtCPU(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.2fµs", float64(d)/float64(time.Microsecond))
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	}
	return FmtDur(d)
}
