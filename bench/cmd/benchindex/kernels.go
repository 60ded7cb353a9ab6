package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
)

const kernelDim = 128

// Patterns for go test -bench, as shown in the report.
const (
	l2Pattern   = "^BenchmarkL2Squared$/.*/^d=128$"
	scanPattern = "^BenchmarkScan1Mx128$"
)

type kernelRow struct {
	name      string // kernel level or yardstick
	nsPerCall float64
	gbps      float64
	runs      int
}

type kernelResult struct {
	l2Count, scanCount int
	levels             []kernelRow // generic, avx2, avx512 (as supported)
	plainGo            kernelRow
	cStrict, cFast     *kernelRow // nil when gcc is missing
	gccVersion         string
	cNote              string

	bwGBps, scanGBps, ratio float64 // medians
	ratios                  []float64
}

func runKernels(br *benchutil.Run, o options) (*kernelResult, error) {
	k := &kernelResult{l2Count: o.kernelCount, scanCount: min(3, o.kernelCount)}

	out, err := goBench(br, o.root, l2Pattern, k.l2Count)
	if err != nil {
		return nil, err
	}
	byLevel := map[string][]benchLine{}
	var order []string
	for _, l := range parseBench(out) {
		// BenchmarkL2Squared/<level>/d=128
		parts := strings.Split(l.name, "/")
		if len(parts) != 3 {
			continue
		}
		if _, ok := byLevel[parts[1]]; !ok {
			order = append(order, parts[1])
		}
		byLevel[parts[1]] = append(byLevel[parts[1]], l)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no BenchmarkL2Squared results in:\n%s", out)
	}
	for _, lv := range order {
		k.levels = append(k.levels, kernelRowOf(lv, byLevel[lv]))
	}

	out, err = goBench(br, o.root, scanPattern, k.scanCount)
	if err != nil {
		return nil, err
	}
	var bw, scan []float64
	for _, l := range parseBench(out) {
		switch l.name {
		case "BenchmarkScan1Mx128/bandwidth":
			bw = append(bw, l.metrics["MB/s"]/1000)
		case "BenchmarkScan1Mx128/scan":
			scan = append(scan, l.metrics["MB/s"]/1000)
		case "BenchmarkScan1Mx128/ratio":
			k.ratios = append(k.ratios, l.metrics["scan/bw"])
		}
	}
	if len(bw) == 0 || len(scan) == 0 || len(k.ratios) == 0 {
		return nil, fmt.Errorf("no BenchmarkScan1Mx128 results in:\n%s", out)
	}
	k.bwGBps, k.scanGBps, k.ratio = median(bw), median(scan), median(k.ratios)

	// Yardsticks.
	k.plainGo = plainGoLoop(k.l2Count)
	k.cStrict, k.cFast, k.gccVersion, k.cNote = cLoops(br, o.root, k.l2Count)
	return k, nil
}

func kernelRowOf(name string, ls []benchLine) kernelRow {
	var ns, gb []float64
	for _, l := range ls {
		ns = append(ns, l.metrics["ns/op"])
		gb = append(gb, l.metrics["MB/s"]/1000)
	}
	return kernelRow{name: name, nsPerCall: median(ns), gbps: median(gb), runs: len(ls)}
}

// goBench runs `go test -run '^$' -bench pattern -count n ./index/` in root,
// echoing its output to stderr, and returns stdout.
func goBench(br *benchutil.Run, root, pattern string, count int) (string, error) {
	cmd := exec.Command(goTool(), "test", "-run", "^$", "-bench", pattern, "-count", strconv.Itoa(count), "-timeout", "30m", "./index/")
	cmd.Dir = root
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := br.Procs.Start(cmd); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("go test -bench %s: %w", pattern, err)
	}
	return buf.String(), nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

type benchLine struct {
	name    string // without the -GOMAXPROCS suffix
	metrics map[string]float64
}

// parseBench reads `go test -bench` result lines:
// "BenchmarkX/sub-2   1234   5.6 ns/op   789.0 MB/s   0.99 scan/bw".
func parseBench(out string) []benchLine {
	var ls []benchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		l := benchLine{name: name, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				l.metrics[f[i+1]] = v
			}
		}
		ls = append(ls, l)
	}
	return ls
}

var sink float32

// plainL2 is the loop anyone would write first: one accumulator, no
// unrolling, no SIMD.
//
//go:noinline
func plainL2(a, b []float32) float32 {
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func plainGoLoop(runs int) kernelRow {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float32, kernelDim), make([]float32, kernelDim)
	for i := range a {
		a[i], b[i] = rng.Float32(), rng.Float32()
	}
	var ns []float64
	for range runs {
		r := testing.Benchmark(func(tb *testing.B) {
			var s float32
			for tb.Loop() {
				s += plainL2(a, b)
			}
			sink += s
		})
		ns = append(ns, float64(r.T.Nanoseconds())/float64(r.N))
	}
	m := median(ns)
	return kernelRow{name: "plain Go loop", nsPerCall: m, gbps: 2 * 4 * kernelDim / m, runs: runs}
}

// cLoops compiles bench/kernels/l2loop.c with gcc -O3 -march=native, with
// and without -ffast-math, and runs each `runs` times.
func cLoops(br *benchutil.Run, root string, runs int) (strict, fast *kernelRow, version, note string) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return nil, nil, "", "gcc not found; C loop not measured"
	}
	version = benchutil.FirstLine(exec.Command(gcc, "--version"))
	src := filepath.Join(root, "bench", "kernels", "l2loop.c")
	build := func(name, file string, extra ...string) *kernelRow {
		bin := filepath.Join(br.Dir, file)
		args := append([]string{"-O3", "-march=native"}, extra...)
		args = append(args, src, "-o", bin)
		if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			note += fmt.Sprintf("gcc %s failed: %v %s; ", strings.Join(extra, " "), err, out)
			return nil
		}
		var ns, gb []float64
		for range runs {
			out, err := exec.Command(bin, strconv.Itoa(kernelDim)).Output()
			if err != nil {
				note += fmt.Sprintf("%s: %v; ", name, err)
				return nil
			}
			var n, g float64
			if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "ns_per_op=%g gbps=%g", &n, &g); err != nil {
				note += fmt.Sprintf("%s: bad output %q; ", name, out)
				return nil
			}
			ns, gb = append(ns, n), append(gb, g)
		}
		return &kernelRow{name: name, nsPerCall: median(ns), gbps: median(gb), runs: runs}
	}
	strict = build("C loop, gcc -O3 -march=native", "l2loop-strict")
	fast = build("C loop, gcc -O3 -march=native -ffast-math", "l2loop-fast", "-ffast-math")
	return strict, fast, version, note
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
