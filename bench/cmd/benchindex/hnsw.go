package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
)

// efs are the ef values both programs run (fixed in main.cpp and
// BenchmarkFashionMNIST).
var efs = []int{10, 20, 40, 80, 160}

// recallTargets are where the QPS of the two programs is compared at equal
// recall, interpolating each program's (recall, log QPS) curve.
var recallTargets = []float64{0.95, 0.98, 0.99, 0.995}

// goalRecall is the recall floor for the QPS goal.
const goalRecall = 0.98

type point struct{ recall, qps float64 }

// progRun is one program's output in one round.
type progRun struct {
	buildS, graphBytes float64
	ef                 map[int]point
}

// parseProgLines reads the line format shared by BenchmarkFashionMNIST,
// main.cpp and pyhnswlib.py, echoing every line to echo:
//
//	<prog> build_threads=<n> build_s=<s>
//	<prog> graph_bytes_per_vector=<b>
//	<prog> ef=<ef> recall@10=<r> qps=<q>
//
// A build line starts a new run of its program.
func parseProgLines(r io.Reader, echo io.Writer) map[string][]*progRun {
	runs := map[string][]*progRun{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		prog := f[0]
		kv := map[string]string{}
		for _, x := range f[1:] {
			if k, v, ok := strings.Cut(x, "="); ok {
				kv[k] = v
			}
		}
		num := func(k string) float64 {
			v, _ := strconv.ParseFloat(kv[k], 64)
			return v
		}
		cur := func() *progRun {
			rs := runs[prog]
			if len(rs) == 0 {
				return nil
			}
			return rs[len(rs)-1]
		}
		switch {
		case kv["build_s"] != "":
			runs[prog] = append(runs[prog], &progRun{buildS: num("build_s"), ef: map[int]point{}})
		case kv["graph_bytes_per_vector"] != "":
			if c := cur(); c != nil {
				c.graphBytes = num("graph_bytes_per_vector")
			}
		case kv["ef"] != "" && kv["recall@10"] != "" && kv["qps"] != "":
			if c := cur(); c != nil {
				ef, _ := strconv.Atoi(kv["ef"])
				c.ef[ef] = point{num("recall@10"), num("qps")}
			}
		}
	}
	return runs
}

// progSummary is one program's medians over its runs.
type progSummary struct {
	runs       []*progRun
	buildS     float64
	graphBytes float64
	ef         map[int]point // median recall, median QPS
	best       map[int]point // median recall, highest QPS of any round
}

func summarise(runs []*progRun) *progSummary {
	s := &progSummary{runs: runs, ef: map[int]point{}, best: map[int]point{}}
	var b, g []float64
	for _, r := range runs {
		b, g = append(b, r.buildS), append(g, r.graphBytes)
	}
	s.buildS, s.graphBytes = median(b), median(g)
	for _, ef := range efs {
		var rec, qps []float64
		for _, r := range runs {
			if p, ok := r.ef[ef]; ok {
				rec, qps = append(rec, p.recall), append(qps, p.qps)
			}
		}
		if len(rec) > 0 {
			_, hi := minMax(qps)
			s.ef[ef] = point{median(rec), median(qps)}
			s.best[ef] = point{median(rec), hi}
		}
	}
	return s
}

func curve(ef map[int]point) []point {
	var c []point
	for _, e := range efs {
		if p, ok := ef[e]; ok {
			c = append(c, p)
		}
	}
	return c
}

// qpsAt interpolates QPS at recall r on a curve ordered by ef (log QPS
// linear in recall between the two points around r). ok is false when the
// curve never reaches r or starts above it (no extrapolation).
func qpsAt(c []point, r float64) (float64, bool) {
	for i, p := range c {
		if p.recall < r {
			continue
		}
		if p.recall == r {
			return p.qps, true
		}
		if i == 0 {
			return 0, false
		}
		a := c[i-1]
		if a.recall >= p.recall {
			return 0, false
		}
		t := (r - a.recall) / (p.recall - a.recall)
		return math.Exp(math.Log(a.qps) + t*(math.Log(p.qps)-math.Log(a.qps))), true
	}
	return 0, false
}

type equalRecall struct {
	target          float64
	ok              bool
	rvQPS, hnQPS    float64
	ratio           float64
	roundLo, roundH float64 // per-round ratio range
	roundN          int
	bestOK          bool
	bestRatio       float64 // ratio of the best-of-rounds curves
}

type hnswResult struct {
	rounds       int
	rv, hn       *progSummary
	efRatio      map[int]float64
	efRatioLo    map[int]float64
	efRatioHi    map[int]float64
	equal        []equalRecall
	buildRatio   float64
	buildRatios  []float64
	goalQPSMet   bool
	goalQPSWhy   string
	goalBuildMet bool
	table        string // run.sh's own summary, for the log
}

func runHNSW(br *benchutil.Run, o options) (*hnswResult, error) {
	cmd := exec.Command("bash", filepath.Join(o.root, "bench", "hnswlib", "run.sh"), strconv.Itoa(o.rounds))
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "RAFTVEC_FASHION_MNIST="+o.data)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	done := make(chan map[string][]*progRun)
	go func() { done <- parseProgLines(pr, os.Stderr) }()
	if err := br.Procs.Start(cmd); err != nil {
		return nil, err
	}
	werr := cmd.Wait()
	pw.Close()
	runs := <-done
	if werr != nil {
		return nil, fmt.Errorf("bench/hnswlib/run.sh: %w", werr)
	}
	fmt.Fprint(os.Stderr, stdout.String())
	if len(runs["raftvec"]) == 0 || len(runs["hnswlib"]) == 0 {
		return nil, fmt.Errorf("run.sh printed no results for raftvec (%d) or hnswlib (%d)", len(runs["raftvec"]), len(runs["hnswlib"]))
	}
	return compareHNSW(runs["raftvec"], runs["hnswlib"], o.rounds, stdout.String()), nil
}

func compareHNSW(rvRuns, hnRuns []*progRun, rounds int, table string) *hnswResult {
	h := &hnswResult{rounds: rounds, rv: summarise(rvRuns), hn: summarise(hnRuns), table: table,
		efRatio: map[int]float64{}, efRatioLo: map[int]float64{}, efRatioHi: map[int]float64{}}
	pairs := min(len(rvRuns), len(hnRuns)) // round i of one with round i of the other
	for _, ef := range efs {
		a, ok1 := h.rv.ef[ef]
		b, ok2 := h.hn.ef[ef]
		if !ok1 || !ok2 {
			continue
		}
		h.efRatio[ef] = a.qps / b.qps
		var rs []float64
		for i := range pairs {
			x, ok1 := rvRuns[i].ef[ef]
			y, ok2 := hnRuns[i].ef[ef]
			if ok1 && ok2 {
				rs = append(rs, x.qps/y.qps)
			}
		}
		h.efRatioLo[ef], h.efRatioHi[ef] = minMax(rs)
	}
	h.goalQPSMet = true
	var why []string
	evaluated := 0
	for _, t := range recallTargets {
		e := equalRecall{target: t}
		a, ok1 := qpsAt(curve(h.rv.ef), t)
		b, ok2 := qpsAt(curve(h.hn.ef), t)
		if ok1 && ok2 {
			e.ok, e.rvQPS, e.hnQPS, e.ratio = true, a, b, a/b
			var rs []float64
			for i := range pairs {
				x, ok1 := qpsAt(curve(rvRuns[i].ef), t)
				y, ok2 := qpsAt(curve(hnRuns[i].ef), t)
				if ok1 && ok2 {
					rs = append(rs, x/y)
				}
			}
			e.roundLo, e.roundH = minMax(rs)
			e.roundN = len(rs)
			x, ok1 := qpsAt(curve(h.rv.best), t)
			y, ok2 := qpsAt(curve(h.hn.best), t)
			if ok1 && ok2 {
				e.bestOK, e.bestRatio = true, x/y
			}
			if t >= goalRecall {
				evaluated++
				if e.ratio < 1 {
					h.goalQPSMet = false
					why = append(why, fmt.Sprintf("%.2f× at recall %.3f", e.ratio, t))
				}
			}
		}
		h.equal = append(h.equal, e)
	}
	if evaluated == 0 {
		h.goalQPSMet = false
		why = append(why, "no recall ≥ 0.98 reached by both")
	}
	h.goalQPSWhy = strings.Join(why, ", ")
	h.buildRatio = h.rv.buildS / h.hn.buildS
	for i := range pairs {
		h.buildRatios = append(h.buildRatios, rvRuns[i].buildS/hnRuns[i].buildS)
	}
	h.goalBuildMet = h.buildRatio <= 1.2
	return h
}

// pyResult is the python3-hnswlib row, or why it is missing.
type pyResult struct {
	skipped string
	run     *progRun
	version string
}

func runPython(br *benchutil.Run, o options, truthFile string) *pyResult {
	if o.python == "" {
		return &pyResult{skipped: "skipped (-python \"\")"}
	}
	if out, err := exec.Command(o.python, "-c", "import hnswlib, numpy").CombinedOutput(); err != nil {
		return &pyResult{skipped: fmt.Sprintf("skipped: %s cannot import hnswlib and numpy (install Debian's python3-hnswlib): %s", o.python, strings.TrimSpace(string(out)))}
	}
	version := benchutil.FirstLine(exec.Command("dpkg-query", "-W", "-f", "${Version}", "python3-hnswlib"))
	cmd := exec.Command(o.python, filepath.Join(o.root, "bench", "hnswlib", "pyhnswlib.py"), o.data, truthFile, strconv.Itoa(buildThread))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := br.Procs.Start(cmd); err != nil {
		return &pyResult{skipped: "skipped: " + err.Error()}
	}
	if err := cmd.Wait(); err != nil {
		return &pyResult{skipped: fmt.Sprintf("skipped: pyhnswlib.py failed: %v", err)}
	}
	runs := parseProgLines(&out, os.Stderr)["pyhnswlib"]
	if len(runs) == 0 || len(runs[0].ef) == 0 {
		return &pyResult{skipped: "skipped: pyhnswlib.py printed no results"}
	}
	return &pyResult{run: runs[0], version: version}
}

func sortedKeys(m map[int]point) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}
