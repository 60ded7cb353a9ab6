package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Filter expressions on the command line: query, the --filter, --partitions
// and range/paging flags of search, and delete by expression. The filter
// text goes to the server as given; it parses and type-checks it against
// the schema and answers INVALID_ARGUMENT with the position of a mistake
// (docs/filter-expressions.md).

// filterFlags are --filter and --partitions as given.
type filterFlags struct {
	filter     string
	partitions string
}

func addFilterFlags(fs *flag.FlagSet, what string) *filterFlags {
	ff := &filterFlags{}
	fs.StringVar(&ff.filter, "filter", "", "boolean expression over scalar fields that "+what+" must match, e.g. 'category == \"shoes\" and price < 100' (docs/filter-expressions.md)")
	fs.StringVar(&ff.partitions, "partitions", "", "comma-separated partitions to limit it to (default: all)")
	return ff
}

// expr is the filter with surrounding space removed; a blank filter is no
// filter.
func (ff *filterFlags) expr() string { return strings.TrimSpace(ff.filter) }

func (ff *filterFlags) partitionNames() []string { return splitList(ff.partitions) }

// optFloat is a float32 flag that remembers whether it was given, for
// the optional radius and range_filter of a range search.
type optFloat struct {
	set bool
	v   float32
}

func (o *optFloat) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatFloat(float64(o.v), 'g', -1, 32)
}

func (o *optFloat) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%q is not a finite number", s)
	}
	o.set, o.v = true, float32(x)
	return nil
}

func (o *optFloat) ptr() *float32 {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

// searchFlags are the flags of search beyond the vector and top-k.
type searchFlags struct {
	filterFlags
	offset      uint
	ef, nprobe  uint
	refine      uint
	radius      optFloat
	rangeFilter optFloat
}

func addSearchFlags(fs *flag.FlagSet) *searchFlags {
	sf := &searchFlags{}
	fs.StringVar(&sf.filter, "filter", "", "boolean expression over scalar fields; only matching rows are candidates, e.g. 'category == \"shoes\"' (docs/filter-expressions.md)")
	fs.StringVar(&sf.partitions, "partitions", "", "comma-separated partitions to search (default: all)")
	fs.UintVar(&sf.offset, "offset", 0, "skip the first N hits of each query (paging: --offset 10 --top-k 10 is the second page)")
	fs.UintVar(&sf.ef, "ef", 0, "HNSW: candidate list size, trading speed for recall (0: the server's default)")
	fs.UintVar(&sf.nprobe, "nprobe", 0, "IVF: cells to scan (0: the server's default)")
	fs.UintVar(&sf.refine, "refine", 0, fmt.Sprintf("IVF_PQ: re-rank refine×top-k candidates exactly, %d-%d (0: the server's default, %d)", minRefine, maxRefine, defRefine))
	fs.Var(&sf.radius, "radius", "range search: only hits strictly inside the radius (L2: distance < R; IP and cosine: similarity > R)")
	fs.Var(&sf.rangeFilter, "range-filter", "range search with --radius: the other end of the range (L2: distance >= F; IP and cosine: similarity <= F)")
	return sf
}

// apply checks the flags and fills them into req.
func (sf *searchFlags) apply(req *pb.SearchRequest) error {
	for _, f := range []struct {
		name string
		v    uint
	}{{"--offset", sf.offset}, {"--ef", sf.ef}, {"--nprobe", sf.nprobe}} {
		if f.v > math.MaxUint32 {
			return fmt.Errorf("%s (%d) is too large", f.name, f.v)
		}
	}
	if sf.refine != 0 && (sf.refine < minRefine || sf.refine > maxRefine) {
		return fmt.Errorf("--refine (%d) must be between %d and %d", sf.refine, minRefine, maxRefine)
	}
	if sf.rangeFilter.set && !sf.radius.set {
		return errors.New("--range-filter needs --radius: it is the inner end of a range search")
	}
	req.Filter = sf.expr()
	req.PartitionNames = sf.partitionNames()
	req.Offset = uint32(sf.offset)
	req.Ef, req.Nprobe, req.Refine = uint32(sf.ef), uint32(sf.nprobe), uint32(sf.refine)
	req.Radius, req.RangeFilter = sf.radius.ptr(), sf.rangeFilter.ptr()
	return nil
}

// --- query ---

func runQuery(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	ff := addFilterFlags(fs, "rows")
	output := fs.String("output-fields", "", "comma-separated fields to return (default: every scalar field; vector for the vector)")
	limit := fs.Uint("limit", 0, "at most N rows (0: the server's maximum, 16384)")
	offset := fs.Uint("offset", 0, "skip the first N matching rows (paging)")
	rf := addReadFlags(fs)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	if *limit > math.MaxUint32 || *offset > math.MaxUint32 {
		return errors.New("--limit and --offset must fit in 32 bits")
	}
	ro, err := rf.readOptions(e.now())
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	rs, err := describe(ctx, c, cf, pos[0])
	if err != nil {
		return err
	}
	fields, err := queryFields(rs, *output)
	if err != nil {
		return err
	}
	resp, err := c.Query(ctx, &pb.QueryRequest{Collection: pos[0], Filter: ff.expr(), OutputFields: fields,
		Limit: uint32(*limit), Offset: uint32(*offset), Read: ro, PartitionNames: ff.partitionNames()})
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(resp)
	}
	printQuery(e.stdout, rs, resp, fields, *limit, *offset)
	return nil
}

// queryFields resolves --output-fields for query; by default every scalar
// field is returned and the vector is not (it is long and rarely what a
// filter query is after).
func queryFields(rs *rowSchema, output string) ([]string, error) {
	if strings.TrimSpace(output) != "" {
		return outputFields(rs, output)
	}
	fields := []string{}
	for _, f := range rs.scalars {
		fields = append(fields, f.Name)
	}
	return fields, nil
}

// printQuery prints the rows of a query and a line saying how many there
// were, and whether the limit may have cut the answer short.
func printQuery(out io.Writer, rs *rowSchema, resp *pb.QueryResponse, fields []string, limit, offset uint) {
	rows := resp.GetRows()
	n := len(rows.GetIntIds()) + len(rows.GetStrIds())
	printRows(out, rs, rows, fields)
	switch {
	case n == 0 && offset > 0:
		fmt.Fprintf(out, "no rows match after skipping %d\n", offset)
	case n == 0:
		fmt.Fprintln(out, "no rows match")
	case n == 1:
		fmt.Fprintln(out, "1 row")
	default:
		fmt.Fprintf(out, "%d rows\n", n)
	}
	if max := limitOrDefault(limit); n > 0 && uint(n) >= max {
		fmt.Fprintf(out, "the limit of %d rows was reached; --offset %d shows the next ones\n", max, offset+uint(n))
	}
	fmt.Fprintf(out, "read at ts %s; session token %d\n", formatTs(resp.GetTs()), resp.GetSessionToken())
}

// maxQueryRows is the server's limit on the rows of one query, which is
// also what it returns when the request names no limit.
const maxQueryRows = 16384

func limitOrDefault(limit uint) uint {
	if limit == 0 {
		return maxQueryRows
	}
	return limit
}

// --- delete ---

// deleteTarget says what a delete names: ids, or a filter (optionally in
// partitions). Exactly one of the two.
func deleteTarget(ids string, ff *filterFlags) (byFilter bool, err error) {
	hasIDs, hasFilter := strings.TrimSpace(ids) != "", ff.expr() != ""
	switch {
	case hasIDs && hasFilter:
		return false, errors.New("delete: give --ids or --filter, not both")
	case hasIDs && ff.partitions != "":
		return false, errors.New("delete: --partitions goes with --filter; --ids deletes the keys wherever they are")
	case !hasIDs && !hasFilter && ff.partitions != "":
		return false, errors.New("delete: --partitions needs --filter (to delete a whole partition: raftvec partition drop)")
	case !hasIDs && !hasFilter:
		return false, errors.New("delete: give --ids 1,2,3 or --filter 'expr'")
	}
	return hasFilter, nil
}

// --- partitions ---

func runPartitionCreate(e *cliEnv, name string, args []string) error {
	return partitionCall(e, name, args, "created", func(c *client.Client, ctx context.Context, coll, part string) error {
		return c.CreatePartition(ctx, coll, part)
	})
}

func runPartitionDrop(e *cliEnv, name string, args []string) error {
	return partitionCall(e, name, args, "dropped", func(c *client.Client, ctx context.Context, coll, part string) error {
		return c.DropPartition(ctx, coll, part)
	})
}

func partitionCall(e *cliEnv, name string, args []string, done string, f func(*client.Client, context.Context, string, string) error) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME", "PARTITION")
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	if err := f(c, ctx, pos[0], pos[1]); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.PartitionResponse{})
	}
	fmt.Fprintf(e.stdout, "%s partition %s of collection %s\n", done, pos[1], pos[0])
	return nil
}

func runPartitionList(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	names, err := c.ListPartitions(ctx, pos[0])
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.ListPartitionsResponse{Names: names})
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

// --- compaction ---

func runCompact(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, 5*defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	n, err := c.Compact(ctx, pos[0])
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.CompactResponse{SegmentsMerged: uint32(n)})
	}
	switch n {
	case 0:
		fmt.Fprintf(e.stdout, "compacted %s: no sealed segment needed merging\n", pos[0])
	case 1:
		fmt.Fprintf(e.stdout, "compacted %s: merged 1 segment\n", pos[0])
	default:
		fmt.Fprintf(e.stdout, "compacted %s: merged %d segments\n", pos[0], n)
	}
	return nil
}

// --- indexes ---

// indexFlags are the flags of `index create` as given; set records which
// were given, so that a parameter of another index type is an error
// rather than silently ignored.
type indexFlags struct {
	typ            string
	field          string
	m              uint
	efConstruction uint
	nlist          uint
	pqM            uint
	set            map[string]bool
}

// Index build parameter ranges and defaults, as the server applies them
// (index/spec.go); the CLI checks them to name the flag in the error.
const (
	minM, maxM, defM             = 4, 64, 16
	minEfC, maxEfC, defEfC       = 8, 512, 200
	minNlist, maxNlist, defNlist = 1, 65536, 1024
	minPQM, maxPQM               = 1, 1024
	minRefine, maxRefine         = 1, 256
	defRefine                    = 8
	indexTypesText               = "hnsw, ivf_flat, ivf_sq8, ivf_pq or flat"
)

// request builds the CreateIndex request. Parameters not given are sent as
// 0, which the server replaces with its defaults.
func (f indexFlags) request(collection string) (*pb.CreateIndexRequest, error) {
	t := strings.ToUpper(strings.TrimSpace(f.typ))
	t = strings.ReplaceAll(t, "-", "_")
	var own []string
	switch t {
	case "":
		return nil, errors.New("--type is required: " + indexTypesText)
	case "HNSW":
		own = []string{"m", "ef-construction"}
	case "IVF_FLAT", "IVF_SQ8":
		own = []string{"nlist"}
	case "IVF_PQ":
		own = []string{"nlist", "pq-m"}
	case "FLAT":
	default:
		return nil, fmt.Errorf("--type: %q is not an index type; want %s", f.typ, indexTypesText)
	}
	for _, p := range []string{"m", "ef-construction", "nlist", "pq-m"} {
		if f.set[p] && !slices.Contains(own, p) {
			return nil, fmt.Errorf("--%s does not apply to %s indexes", p, strings.ToLower(t))
		}
	}
	for _, r := range []struct {
		name   string
		v      uint
		lo, hi uint
	}{{"m", f.m, minM, maxM}, {"ef-construction", f.efConstruction, minEfC, maxEfC}, {"nlist", f.nlist, minNlist, maxNlist}, {"pq-m", f.pqM, minPQM, maxPQM}} {
		if f.set[r.name] && (r.v < r.lo || r.v > r.hi) {
			return nil, fmt.Errorf("--%s (%d) must be between %d and %d", r.name, r.v, r.lo, r.hi)
		}
	}
	return &pb.CreateIndexRequest{Collection: collection, FieldName: strings.TrimSpace(f.field), IndexType: t,
		M: uint32(f.m), EfConstruction: uint32(f.efConstruction), Nlist: uint32(f.nlist), PqM: uint32(f.pqM)}, nil
}

func runIndexCreate(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	var f indexFlags
	fs.StringVar(&f.typ, "type", "", "index type: "+indexTypesText)
	fs.StringVar(&f.field, "field", "", "the vector field (default: the collection's)")
	fs.UintVar(&f.m, "m", 0, fmt.Sprintf("hnsw: links per node, %d-%d (default %d)", minM, maxM, defM))
	fs.UintVar(&f.efConstruction, "ef-construction", 0, fmt.Sprintf("hnsw: candidate list size while building, %d-%d (default %d)", minEfC, maxEfC, defEfC))
	fs.UintVar(&f.nlist, "nlist", 0, fmt.Sprintf("ivf_flat, ivf_sq8, ivf_pq: k-means cells, %d-%d (default %d)", minNlist, maxNlist, defNlist))
	fs.UintVar(&f.pqM, "pq-m", 0, fmt.Sprintf("ivf_pq: subquantizers (code bytes per vector), %d-%d, must divide dim (default: the largest divisor of dim <= dim/4)", minPQM, maxPQM))
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	req, err := f.request(pos[0])
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	if err := c.CreateIndex(ctx, req); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.CreateIndexResponse{})
	}
	fmt.Fprintf(e.stdout, "created the %s index of %s; sealed segments are indexed in the background (raftvec index describe %s shows the progress)\n",
		req.IndexType, pos[0], pos[0])
	return nil
}

func runIndexDescribe(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	d, err := c.DescribeIndex(ctx, pos[0])
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(d)
	}
	printIndex(e.stdout, pos[0], d)
	return nil
}

func printIndex(out io.Writer, collection string, d *pb.DescribeIndexResponse) {
	fmt.Fprintf(out, "collection  %s\n", collection)
	fmt.Fprintf(out, "field       %s\n", dash(d.GetFieldName()))
	var params string
	switch d.GetIndexType() {
	case "":
		fmt.Fprintln(out, "index       none (every segment is searched exactly)")
	case "HNSW":
		params = fmt.Sprintf("m %d, ef-construction %d", d.GetM(), d.GetEfConstruction())
	case "IVF_FLAT", "IVF_SQ8":
		params = fmt.Sprintf("nlist %d", d.GetNlist())
	case "IVF_PQ":
		params = fmt.Sprintf("nlist %d, pq-m %d", d.GetNlist(), d.GetPqM())
	}
	if d.GetIndexType() != "" {
		if params != "" {
			params = " (" + params + ")"
		}
		fmt.Fprintf(out, "index       %s%s\n", d.GetIndexType(), params)
	}
	fmt.Fprintf(out, "segments    %d of %d sealed segments indexed on node %s", d.GetIndexedSegments(), d.GetSealedSegments(), dash(d.GetNode()))
	if d.GetIndexType() != "" && d.GetIndexedSegments() < d.GetSealedSegments() {
		fmt.Fprint(out, " (the others are searched exactly until built)")
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "builder     %s\n", dash(d.GetBuilder()))
}

func runIndexDrop(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	if err := c.DropIndex(ctx, pos[0]); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.DropIndexResponse{})
	}
	fmt.Fprintf(e.stdout, "dropped the index of %s; its segments are searched exactly\n", pos[0])
	return nil
}
