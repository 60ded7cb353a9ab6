// Command benchmilvus measures what the Milvus endpoint costs: insert and
// search throughput through MilvusService against the same requests
// through raftvec.v1, sent to the same node of one three-node cluster,
// in interleaved rounds, so that the ratio is the adapter's overhead.
// `make bench-milvus` writes the results into docs/benchmarks.md.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

const (
	beginMarker = "<!-- bench-milvus:begin -->"
	endMarker   = "<!-- bench-milvus:end -->"
	collection  = "bench_milvus"
	topK        = 10
)

type options struct {
	raftvecBin string
	out        string
	duration   time.Duration
	rounds     int
	rows       int
	dim        int
	batch      int
	writers    int
	searchers  int
	keepLogs   bool
}

func main() {
	var o options
	flag.StringVar(&o.raftvecBin, "raftvec", "../bin/raftvec", "raftvec binary")
	flag.StringVar(&o.out, "out", "../docs/benchmarks.md", "markdown file to write the results section into")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each measurement runs")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per protocol and workload")
	flag.IntVar(&o.rows, "rows", 20_000, "rows loaded before searching")
	flag.IntVar(&o.dim, "dim", 128, "vector dimension")
	flag.IntVar(&o.batch, "batch", 100, "rows per insert")
	flag.IntVar(&o.writers, "writers", 8, "concurrent inserting clients")
	flag.IntVar(&o.searchers, "searchers", 16, "concurrent searching clients")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the temp dir (server logs) after the run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchmilvus:", err)
		os.Exit(1)
	}
}

// protocol is one way of sending the benchmark's requests to a node.
type protocol struct {
	name      string
	newWriter func(i int, ids *atomic.Int64) (benchutil.Worker, error)
	newReader func(i int) (benchutil.Worker, error)
}

func run(o options) error {
	bin, err := filepath.Abs(o.raftvecBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("raftvec binary: %w (run `make build`)", err)
	}
	br, err := benchutil.NewRun("benchmilvus", o.keepLogs)
	if err != nil {
		return err
	}
	defer br.Cleanup()
	fmt.Println("== raftvec: starting a three-node cluster with the Milvus endpoint on")
	api, mil, err := benchutil.StartRaftvecMilvus(br.Procs, bin, filepath.Join(br.Dir, "raftvec"))
	if err != nil {
		return err
	}
	if err := benchutil.CreateSharded(api, collection, o.dim, pb.Metric_L2, 1, 3); err != nil {
		return err
	}
	leaders, err := benchutil.ShardLeaders(api, collection, time.Minute)
	if err != nil {
		return err
	}
	// Both protocols talk to the shard leader's node, so neither pays a
	// forward and the difference is the adapter.
	node := 0
	for i := range api {
		if strings.HasSuffix(leaders[0], fmt.Sprintf("n%d", i+1)) {
			node = i
		}
	}
	fmt.Printf("   shard leader %s; every request goes to node n%d (api %s, milvus %s)\n", leaders[0], node+1, api[node], mil[node])
	var ids atomic.Int64
	ids.Store(1 << 40)
	fmt.Printf("== loading %d rows of dim %d\n", o.rows, o.dim)
	if err := load(api[node], o); err != nil {
		return err
	}
	conn, err := grpc.NewClient(mil[node], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	mc := milvuspb.NewMilvusServiceClient(conn)
	protocols := []protocol{
		{name: "raftvec.v1",
			newWriter: func(i int, ids *atomic.Int64) (benchutil.Worker, error) { return newV1Writer(api[node], o, ids) },
			newReader: func(i int) (benchutil.Worker, error) { return newV1Reader(api[node], o, i) }},
		{name: "Milvus",
			newWriter: func(i int, ids *atomic.Int64) (benchutil.Worker, error) {
				return &milvusWriter{c: mc, o: o, ids: ids}, nil
			},
			newReader: func(i int) (benchutil.Worker, error) {
				return &milvusReader{c: mc, o: o, r: rand.New(rand.NewPCG(uint64(i), 2))}, nil
			}},
	}
	type key struct{ workload, protocol string }
	res := map[key][]benchutil.Result{}
	// Searches first, on the loaded rows alone; then inserts. Within a
	// round the two protocols run back to back, and the ratio reported is
	// the median of the rounds' ratios, which shared-machine noise moves
	// less than either rate.
	for _, w := range []string{"search", "insert"} {
		for round := 0; round < o.rounds; round++ {
			for _, p := range protocols {
				var r benchutil.Result
				if w == "search" {
					r = benchutil.Drive(o.searchers, o.duration, p.newReader)
					fmt.Printf("round %d search %-10s %8.0f QPS p50=%s errs=%d %v\n", round+1, p.name, r.OpsPerSec(), r.P50, r.Errs, r.FirstErr)
				} else {
					r = benchutil.Drive(o.writers, o.duration, func(i int) (benchutil.Worker, error) { return p.newWriter(i, &ids) })
					fmt.Printf("round %d insert %-10s %8.0f rows/s p50=%s errs=%d %v\n", round+1, p.name, r.OpsPerSec()*float64(o.batch), r.P50, r.Errs, r.FirstErr)
				}
				if r.Errs > 0 {
					return fmt.Errorf("%s via %s: %d errors, first: %v", w, p.name, r.Errs, r.FirstErr)
				}
				res[key{w, p.name}] = append(res[key{w, p.name}], r)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## Milvus endpoint overhead (`make bench-milvus`)\n\n", beginMarker)
	fmt.Fprintf(&b, "- Command: `%s` (runs `cd bench && go run ./cmd/benchmilvus -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)`)\n", benchutil.CommandLine("bench-milvus"))
	fmt.Fprintf(&b, "- Machine: %s; run %s\n", benchutil.Machine(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Three nodes on loopback, one shard (3 replicas), %d rows of dim %d (L2, no index: exact search). "+
		"Every request goes to the shard leader's node, through raftvec.v1 (its API port, the Go SDK without routing) or through "+
		"MilvusService (its Milvus port, raw milvus-proto requests as the Milvus SDKs send them), so neither pays a forward. "+
		"Inserts: %d clients × %d rows per request; searches: %d clients, top-%d, one query vector, EVENTUAL / Eventually "+
		"(served by the node itself). %d rounds of %s per protocol, the two protocols back to back in each round; rates are "+
		"the median round's, the ratio is the median of the rounds' ratios.\n\n",
		o.rows, o.dim, o.writers, o.batch, o.searchers, topK, o.rounds, o.duration)
	b.WriteString("| workload | raftvec.v1 | Milvus | Milvus / raftvec.v1 | p50 raftvec.v1 | p50 Milvus |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, w := range []string{"insert", "search"} {
		v1s, mvs := res[key{w, "raftvec.v1"}], res[key{w, "Milvus"}]
		v1, mv := median(v1s), median(mvs)
		var ratios []float64
		for i := range v1s {
			ratios = append(ratios, mvs[i].OpsPerSec()/v1s[i].OpsPerSec())
		}
		sort.Float64s(ratios)
		unit, scale := "QPS", 1.0
		if w == "insert" {
			unit, scale = "rows/s", float64(o.batch)
		}
		fmt.Fprintf(&b, "| %s | %.0f %s | %.0f %s | %.3f | %s | %s |\n", w, v1.OpsPerSec()*scale, unit, mv.OpsPerSec()*scale, unit,
			ratios[len(ratios)/2], v1.P50.Round(time.Microsecond), mv.P50.Round(time.Microsecond))
	}
	b.WriteString("\nThe adapter converts columns to rows and back and resolves the collection's schema once per request " +
		"(an in-process call); the target is a ratio ≥ 0.9 (less than 10 % overhead).\n" + endMarker + "\n")
	fmt.Print(b.String())
	return benchutil.WriteSection(o.out, beginMarker, endMarker, b.String())
}

func median(rs []benchutil.Result) benchutil.Result {
	s := append([]benchutil.Result{}, rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].OpsPerSec() < s[j].OpsPerSec() })
	return s[len(s)/2]
}

func randomVectors(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()
	}
	return v
}

func load(addr string, o options) error {
	c, err := client.New([]string{addr})
	if err != nil {
		return err
	}
	defer c.Close()
	r := rand.New(rand.NewPCG(1, 1))
	for lo := 0; lo < o.rows; lo += 1000 {
		hi := min(lo+1000, o.rows)
		ids := make([]int64, hi-lo)
		for i := range ids {
			ids[i] = int64(lo + i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := c.Insert(ctx, &pb.InsertRequest{Collection: collection, Rows: &pb.Rows{IntIds: ids, Vectors: randomVectors(r, len(ids)*o.dim)}})
		cancel()
		if err != nil {
			return fmt.Errorf("load rows [%d, %d): %w", lo, hi, err)
		}
	}
	return nil
}

// --- raftvec.v1 ---

type v1Writer struct {
	c   *client.Client
	o   options
	ids *atomic.Int64
	r   *rand.Rand
}

func newV1Writer(addr string, o options, ids *atomic.Int64) (benchutil.Worker, error) {
	c, err := client.New([]string{addr})
	if err != nil {
		return nil, err
	}
	c.SetDirect(false)
	return &v1Writer{c: c, o: o, ids: ids, r: rand.New(rand.NewPCG(uint64(ids.Load()), 3))}, nil
}

func (w *v1Writer) Do(ctx context.Context) error {
	first := w.ids.Add(int64(w.o.batch)) - int64(w.o.batch)
	ids := make([]int64, w.o.batch)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	_, err := w.c.Insert(ctx, &pb.InsertRequest{Collection: collection, Rows: &pb.Rows{IntIds: ids, Vectors: randomVectors(w.r, w.o.batch*w.o.dim)}})
	return err
}

func (w *v1Writer) Close() { w.c.Close() }

type v1Reader struct {
	c *client.Client
	o options
	r *rand.Rand
}

func newV1Reader(addr string, o options, i int) (benchutil.Worker, error) {
	c, err := client.New([]string{addr})
	if err != nil {
		return nil, err
	}
	c.SetDirect(false)
	return &v1Reader{c: c, o: o, r: rand.New(rand.NewPCG(uint64(i), 2))}, nil
}

func (s *v1Reader) Do(ctx context.Context) error {
	resp, err := s.c.Search(ctx, &pb.SearchRequest{Collection: collection, Vectors: randomVectors(s.r, s.o.dim), TopK: topK,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}})
	if err != nil {
		return err
	}
	if len(resp.Results) != 1 || len(resp.Results[0].Hits) != topK {
		return fmt.Errorf("search returned %d lists", len(resp.Results))
	}
	return nil
}

func (s *v1Reader) Close() { s.c.Close() }

// --- MilvusService ---

type milvusWriter struct {
	c   milvuspb.MilvusServiceClient
	o   options
	ids *atomic.Int64
	r   *rand.Rand
}

func (w *milvusWriter) Do(ctx context.Context) error {
	if w.r == nil {
		w.r = rand.New(rand.NewPCG(uint64(w.ids.Add(1)), 4))
	}
	first := w.ids.Add(int64(w.o.batch)) - int64(w.o.batch)
	ids := make([]int64, w.o.batch)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	resp, err := w.c.Insert(ctx, &milvuspb.InsertRequest{CollectionName: collection, NumRows: uint32(w.o.batch), FieldsData: []*schemapb.FieldData{
		{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
			Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: ids}}}}},
		{FieldName: "vector", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{
			Dim: int64(w.o.dim), Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: randomVectors(w.r, w.o.batch*w.o.dim)}}}}},
	}})
	if err != nil {
		return err
	}
	if resp.GetStatus().GetCode() != 0 {
		return fmt.Errorf("insert: %s", resp.GetStatus().GetReason())
	}
	return nil
}

func (w *milvusWriter) Close() {}

type milvusReader struct {
	c milvuspb.MilvusServiceClient
	o options
	r *rand.Rand
}

func (s *milvusReader) Do(ctx context.Context) error {
	q := randomVectors(s.r, s.o.dim)
	b := make([]byte, 4*len(q))
	for i, f := range q {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	pg, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{
		{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector, Values: [][]byte{b}}}})
	if err != nil {
		return err
	}
	resp, err := s.c.Search(ctx, &milvuspb.SearchRequest{CollectionName: collection, Nq: 1, DslType: commonpb.DslType_BoolExprV1,
		SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: pg}, ConsistencyLevel: commonpb.ConsistencyLevel_Eventually,
		SearchParams: []*commonpb.KeyValuePair{{Key: "anns_field", Value: "vector"}, {Key: "topk", Value: strconv.Itoa(topK)},
			{Key: "metric_type", Value: "L2"}, {Key: "params", Value: "{}"}}})
	if err != nil {
		return err
	}
	if resp.GetStatus().GetCode() != 0 {
		return fmt.Errorf("search: %s", resp.GetStatus().GetReason())
	}
	if n := len(resp.GetResults().GetScores()); n != topK {
		return fmt.Errorf("search returned %d hits", n)
	}
	return nil
}

func (s *milvusReader) Close() {}
