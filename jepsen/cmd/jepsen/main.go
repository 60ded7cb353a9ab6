// Command jepsen runs raftvec's consistency suite against real server
// processes on loopback: every workload × every nemesis, the controls
// (safe and unsafe servers) and the scripted scenarios, each writing a run
// directory under -runs-dir; with -doc it also
// writes the summary page (docs/jepsen.md). It exits 1 when any run is not
// as expected: a workload run or safe control that is not green, or an
// unsafe control that does not report its anomalies.
//
//	go run ./jepsen/cmd/jepsen -quick                   # make jepsen-quick
//	go run ./jepsen/cmd/jepsen -doc docs/jepsen.md      # make jepsen
//	go run ./jepsen/cmd/jepsen -workloads register -nemeses partition-leader -duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/raftvec/raftvec/jepsen/nemesis"
	"github.com/raftvec/raftvec/jepsen/runner"
	"github.com/raftvec/raftvec/jepsen/workload"
)

func main() {
	os.Exit(run())
}

type options struct {
	quick     bool
	workloads string
	nemeses   string
	controls  bool
	scenarios bool
	doc       string
	binary    string
	cfg       runner.Config
}

func run() int {
	o := options{cfg: runner.DefaultConfig()}
	flag.BoolVar(&o.quick, "quick", false, "every workload with a short mixed-fault schedule (20s each) plus the controls")
	flag.StringVar(&o.workloads, "workloads", "all", "comma-separated workloads ("+strings.Join(workload.Names(), ", ")+"), all, or empty for none")
	flag.StringVar(&o.nemeses, "nemeses", "all", "comma-separated nemeses ("+strings.Join(nemesis.Names(), ", ")+"), all, or empty for none")
	flag.BoolVar(&o.controls, "controls", true, "run the controls (stale read, re-sent request id) against safe and unsafe servers")
	flag.BoolVar(&o.scenarios, "scenarios", true, "run the scripted scenarios (default false with -quick)")
	flag.StringVar(&o.doc, "doc", "", "write the summary page here (docs/jepsen.md)")
	flag.StringVar(&o.binary, "binary", "", "raftvec binary (default: go build ./cmd/raftvec into a temp dir)")
	flag.StringVar(&o.cfg.RunsDir, "runs-dir", o.cfg.RunsDir, "where run directories go")
	flag.DurationVar(&o.cfg.Duration, "duration", o.cfg.Duration, "how long clients run in each workload run")
	flag.IntVar(&o.cfg.Workers, "workers", o.cfg.Workers, "client goroutines per run")
	flag.Float64Var(&o.cfg.Rate, "rate", o.cfg.Rate, "operations per second per worker")
	flag.DurationVar(&o.cfg.OpTimeout, "op-timeout", o.cfg.OpTimeout, "timeout of one operation, SDK retries included")
	flag.DurationVar(&o.cfg.Schedule.Quiet, "quiet", o.cfg.Schedule.Quiet, "mean quiet period between faults")
	flag.DurationVar(&o.cfg.Schedule.Hold, "hold", o.cfg.Schedule.Hold, "mean time a fault is held")
	flag.Uint64Var(&o.cfg.Seed, "seed", o.cfg.Seed, "seed of the nemesis and worker choices")
	flag.IntVar(&o.cfg.Nodes, "nodes", 0, "cluster size (0: 3, or 5 for the nemeses that need it)")
	flag.IntVar(&o.cfg.Shards, "shards", o.cfg.Shards, "shards of the collection once the server supports several (0: the server's default)")
	flag.BoolVar(&o.cfg.KeepData, "keep-data", false, "keep the nodes' data directories")
	flag.BoolVar(&o.cfg.Secure, "secure", false, "run the clusters with TLS everywhere and authentication on")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "jepsen: unexpected argument %q\n", flag.Arg(0))
		return 2
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["duration"] {
			o.cfg.Duration = 20 * time.Second
		}
		if !set["nemeses"] {
			o.nemeses = "mix"
		}
		if !set["quiet"] {
			o.cfg.Schedule.Quiet = 1500 * time.Millisecond
		}
		if !set["hold"] {
			o.cfg.Schedule.Hold = 2 * time.Second
		}
		if !set["op-timeout"] {
			o.cfg.OpTimeout = 1500 * time.Millisecond
		}
		if !set["scenarios"] {
			o.scenarios = false
		}
	}
	o.cfg.Command = "go run ./jepsen/cmd/jepsen " + strings.Join(os.Args[1:], " ")
	o.cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "jepsen: "+format+"\n", args...)
	}
	workloads, err := pick(o.workloads, workload.Names())
	if err != nil {
		fmt.Fprintln(os.Stderr, "jepsen: -workloads:", err)
		return 2
	}
	nemeses, err := pick(o.nemeses, nemesis.Names())
	if err != nil {
		fmt.Fprintln(os.Stderr, "jepsen: -nemeses:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	if o.binary == "" {
		dir, err := os.MkdirTemp("", "raftvec-jepsen-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "jepsen:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		o.binary = filepath.Join(dir, "raftvec")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", o.binary, "./cmd/raftvec")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "jepsen: build raftvec (run from the repository root):", err)
			return 1
		}
	}
	o.cfg.Binary = o.binary

	var results []*runner.Result
	report := func(r *runner.Result) {
		results = append(results, r)
		status := "ok  "
		if !r.Pass {
			status = "FAIL"
		}
		fmt.Printf("%s %-36s %-6s %5.1fs ops %-22s %s\n", status, r.Name(), runner.Verdict(r), r.Elapsed.Seconds(), runner.OpCounts(r.Counts), r.Dir)
		if !r.Pass {
			fmt.Printf("     checkers: %s\n     anomalies: %s\n", runner.Checkers(r), runner.Anomalies(r))
			for _, a := range runner.AnomalyExcerpt(r, 5) {
				fmt.Printf("     - [%s] ops %v: %s\n", a.Kind, a.Ops, a.Message)
			}
		}
	}
	type pair struct {
		w, n   string
		secure bool
	}
	var pairs []pair
	for _, n := range nemeses {
		for _, w := range workloads {
			pairs = append(pairs, pair{w, n, o.cfg.Secure})
		}
	}
	if o.quick && !set["nemeses"] && !set["workloads"] {
		// Membership changes under the two workloads that see lost or
		// stale writes most directly; mix runs on three nodes, where
		// there is no spare node to move a replica to.
		pairs = append(pairs, pair{"set", "shard-move", false}, pair{"register", "shard-move", false})
		// STRONG reads on followers (every node serves them after a
		// read-index round on the leader) under the two faults that
		// threaten them most: a leader cut off, and skewed clocks.
		pairs = append(pairs, pair{"register", "partition-leader", false}, pair{"register", "clock-skew", false})
		// The same promises with TLS on every link and every request
		// authenticated (certificates, gossip key and root user made
		// for the run).
		pairs = append(pairs, pair{"register", "mix", true}, pair{"set", "mix", true})
	}
	for _, p := range pairs {
		if ctx.Err() != nil {
			break
		}
		w, n := p.w, p.n
		cfg := o.cfg
		cfg.Workload, cfg.Nemesis, cfg.Secure = w, n, p.secure
		cfg.Seed = runner.RunSeed(o.cfg.Seed, w, n)
		cfg.Command = fmt.Sprintf("go run ./jepsen/cmd/jepsen -workloads %s -nemeses %s -controls=false -seed %d -duration %s -workers %d -rate %g -op-timeout %s -quiet %s -hold %s -shards %d -secure=%v",
			w, n, o.cfg.Seed, o.cfg.Duration, o.cfg.Workers, o.cfg.Rate, o.cfg.OpTimeout, o.cfg.Schedule.Quiet, o.cfg.Schedule.Hold, o.cfg.Shards, p.secure)
		report(runner.Run(ctx, cfg))
	}
	if o.controls {
		for _, c := range runner.Controls {
			for _, unsafe := range []bool{false, true} {
				if ctx.Err() != nil {
					break
				}
				cfg := o.cfg
				cfg.Command = "go run ./jepsen/cmd/jepsen -workloads= -controls -scenarios=false"
				report(runner.RunControl(ctx, cfg, c, unsafe))
			}
		}
	}
	if o.scenarios {
		for _, c := range runner.Scenarios {
			if ctx.Err() != nil {
				break
			}
			cfg := o.cfg
			cfg.Command = "go run ./jepsen/cmd/jepsen -workloads= -controls=false -scenarios"
			report(runner.RunControl(ctx, cfg, c, false))
		}
	}
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
	}
	if o.doc != "" {
		err := runner.WriteSummary(o.doc, runner.Summary{Command: o.cfg.Command, Started: started, Elapsed: time.Since(started),
			Duration: o.cfg.Duration, Results: results, RunsDir: o.cfg.RunsDir})
		if err != nil {
			fmt.Fprintln(os.Stderr, "jepsen: summary:", err)
			return 1
		}
	}
	fmt.Printf("%d runs in %s: %d as expected, %d not\n", len(results), time.Since(started).Round(time.Second), len(results)-failed, failed)
	if failed > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

// pick parses a comma-separated selection from have ("all" for every one,
// "" for none).
func pick(s string, have []string) ([]string, error) {
	if s == "all" {
		return have, nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		found := false
		for _, h := range have {
			if h == f {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown %q (have %s)", f, strings.Join(have, ", "))
		}
		out = append(out, f)
	}
	return out, nil
}
