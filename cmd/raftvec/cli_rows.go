package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/raftvec/raftvec/rpc/pb"
)

// The pure half of `raftvec insert`: turning JSONL lines into pb.Rows
// against a collection's schema, and generating --random rows. Nothing here
// talks to a server, so all of it is covered by table tests.

// maxLineBytes bounds one JSONL line; a 32768-d vector written with full
// float precision is well under 1 MiB, so a longer line is a broken file.
const maxLineBytes = 64 << 20

// rowSchema is the part of a collection schema that row parsing needs.
type rowSchema struct {
	collection string
	pk         *pb.FieldSchema
	vector     *pb.FieldSchema
	dim        int
	scalars    []*pb.FieldSchema
	scalarPos  map[string]int
}

func newRowSchema(s *pb.CollectionSchema) (*rowSchema, error) {
	rs := &rowSchema{collection: s.GetName(), scalarPos: map[string]int{}}
	for _, f := range s.GetFields() {
		switch {
		case f.PrimaryKey:
			if f.Type != pb.FieldType_INT64 && f.Type != pb.FieldType_VARCHAR {
				return nil, fmt.Errorf("collection %q: primary key %q has type %s; this client knows int64 and varchar keys", rs.collection, f.Name, f.Type)
			}
			rs.pk = f
		case f.Type == pb.FieldType_FLOAT_VECTOR:
			rs.vector = f
		default:
			rs.scalarPos[f.Name] = len(rs.scalars)
			rs.scalars = append(rs.scalars, f)
		}
	}
	if rs.pk == nil || rs.vector == nil {
		return nil, fmt.Errorf("collection %q: schema has no primary key or no vector field", rs.collection)
	}
	rs.dim = int(rs.vector.Dim)
	return rs, nil
}

func (rs *rowSchema) varcharPK() bool { return rs.pk.Type == pb.FieldType_VARCHAR }

func (rs *rowSchema) fieldNames() string {
	names := []string{rs.pk.Name, rs.vector.Name}
	for _, f := range rs.scalars {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// lineError is a problem with one input line; it prints as file:line: msg,
// the form editors and grep understand.
type lineError struct {
	file string
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.file, e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// rowBatch is a batch of parsed rows and the input lines they came from, so
// that an error the server reports for "row i" can name the line.
type rowBatch struct {
	rows  *pb.Rows
	lines []int
	bytes int64
}

func (b *rowBatch) len() int { return len(b.lines) }

func (b *rowBatch) lineRange() string {
	if len(b.lines) == 0 {
		return "no lines"
	}
	first, last := b.lines[0], b.lines[len(b.lines)-1]
	if first == last {
		return fmt.Sprintf("line %d", first)
	}
	return fmt.Sprintf("lines %d-%d", first, last)
}

func newRowBatch(rs *rowSchema) *rowBatch {
	b := &rowBatch{rows: &pb.Rows{}}
	for _, f := range rs.scalars {
		b.rows.Fields = append(b.rows.Fields, &pb.FieldColumn{Name: f.Name})
	}
	return b
}

// jsonlReader reads rows, one JSON object per line, checking each against
// the schema. Blank lines are skipped but counted, so line numbers match
// what an editor shows.
type jsonlReader struct {
	rs   *rowSchema
	r    *bufio.Reader
	name string
	line int
	read int64 // bytes consumed

	// Keys seen so far with their line, to report a key given twice in the
	// file; nil when the caller does not want the check (a second pass).
	seenInt map[int64]int
	seenStr map[string]int
}

func newJSONLReader(rs *rowSchema, r io.Reader, name string, checkDuplicates bool) *jsonlReader {
	jr := &jsonlReader{rs: rs, r: bufio.NewReaderSize(r, 1<<20), name: name}
	if checkDuplicates && !rs.pk.AutoId {
		if rs.varcharPK() {
			jr.seenStr = map[string]int{}
		} else {
			jr.seenInt = map[int64]int{}
		}
	}
	return jr
}

// next returns the next batch: up to maxRows rows, cut short once the
// batch's input reaches maxBytes (so a request stays far below the server's
// message limit whatever the dimension). It returns io.EOF when no rows are
// left, and a *lineError for the first bad line.
func (jr *jsonlReader) next(maxRows int, maxBytes int64) (*rowBatch, error) {
	b := newRowBatch(jr.rs)
	for b.len() < maxRows && b.bytes < maxBytes {
		line, n, err := readLine(jr.r)
		if n > 0 {
			jr.line++
			jr.read += int64(n)
			b.bytes += int64(n)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if perr := jr.parseInto(b, line); perr != nil {
				return nil, &lineError{file: jr.name, line: jr.line, err: perr}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return nil, &lineError{file: jr.name, line: jr.line, err: err}
			}
			return nil, fmt.Errorf("%s: %w", jr.name, err)
		}
	}
	if b.len() == 0 {
		return nil, io.EOF
	}
	return b, nil
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLineBytes)

// readLine returns one line without its line ending, the number of bytes
// consumed, and io.EOF with the last line.
func readLine(r *bufio.Reader) ([]byte, int, error) {
	var line []byte
	n := 0
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if len(line)+len(chunk) > maxLineBytes {
			// Skip the rest of the line so the count stays right, then fail.
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = r.ReadSlice('\n')
				n += len(chunk)
			}
			return nil, n, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, n, err
	}
}

// parseInto parses one line and appends it to b; b is unchanged on error.
func (jr *jsonlReader) parseInto(b *rowBatch, line []byte) error {
	rs := jr.rs
	r, err := parseRow(rs, line)
	if err != nil {
		return err
	}
	switch {
	case rs.pk.AutoId:
	case rs.varcharPK():
		if jr.seenStr != nil {
			if prev, dup := jr.seenStr[r.strID]; dup {
				return fmt.Errorf("field %q: primary key %q is also on line %d", rs.pk.Name, r.strID, prev)
			}
			jr.seenStr[r.strID] = jr.line
		}
		b.rows.StrIds = append(b.rows.StrIds, r.strID)
	default:
		if jr.seenInt != nil {
			if prev, dup := jr.seenInt[r.intID]; dup {
				return fmt.Errorf("field %q: primary key %d is also on line %d", rs.pk.Name, r.intID, prev)
			}
			jr.seenInt[r.intID] = jr.line
		}
		b.rows.IntIds = append(b.rows.IntIds, r.intID)
	}
	b.rows.Vectors = append(b.rows.Vectors, r.vector...)
	for i, v := range r.values {
		if v == nil {
			// Not given: the server fills in the default or null, or
			// rejects the row when the field has neither.
			v = &pb.Value{}
		}
		b.rows.Fields[i].Values = append(b.rows.Fields[i].Values, v)
	}
	b.lines = append(b.lines, jr.line)
	return nil
}

type parsedRow struct {
	intID  int64
	strID  string
	vector []float32
	values []*pb.Value // one per schema scalar; nil = not given
}

// parseRow parses one JSON object against the schema. Keys are field
// names; the object must carry the primary key (unless it is auto_id) and
// the vector, and no field outside the schema.
func parseRow(rs *rowSchema, line []byte) (parsedRow, error) {
	r := parsedRow{values: make([]*pb.Value, len(rs.scalars))}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return r, jsonSyntax(line, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return r, fmt.Errorf("want a JSON object {\"field\": value, ...}, got %s", tokenKind(tok))
	}
	seen := make(map[string]bool, len(rs.scalars)+2)
	hasPK, hasVector := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return r, jsonSyntax(line, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return r, jsonSyntax(line, err)
		}
		if seen[key] {
			return r, fmt.Errorf("field %q: given twice", key)
		}
		seen[key] = true
		switch {
		case key == rs.pk.Name:
			if rs.pk.AutoId {
				return r, fmt.Errorf("field %q: the primary key is auto_id, so rows must not carry it", key)
			}
			hasPK = true
			if rs.varcharPK() {
				r.strID, err = parseVarchar(raw, rs.pk.MaxLength)
				if err == nil && r.strID == "" {
					err = errors.New("the primary key must not be empty")
				}
			} else {
				r.intID, err = parseInt64(raw)
			}
		case key == rs.vector.Name:
			hasVector = true
			r.vector, err = parseVectorJSON(raw, rs.dim)
			if err == nil && rs.vector.Metric == pb.Metric_COSINE && isZero(r.vector) {
				err = errors.New("the zero vector has no cosine; the metric is cosine")
			}
		default:
			i, ok := rs.scalarPos[key]
			if !ok {
				return r, fmt.Errorf("field %q: not in the schema of collection %q (fields: %s)", key, rs.collection, rs.fieldNames())
			}
			r.values[i], err = parseScalar(rs.scalars[i], raw)
		}
		if err != nil {
			return r, fmt.Errorf("field %q: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return r, jsonSyntax(line, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, errors.New("invalid JSON: more than one value on the line (want one object per line)")
	}
	if !hasPK && !rs.pk.AutoId {
		return r, fmt.Errorf("field %q: missing; every row needs its primary key", rs.pk.Name)
	}
	if !hasVector {
		return r, fmt.Errorf("field %q: missing; every row needs a vector of %d numbers", rs.vector.Name, rs.dim)
	}
	return r, nil
}

// jsonSyntax describes a syntax error in line. The decoder's offsets are
// relative to where its current value started, so the line is checked again
// as a whole to report the column an editor shows.
func jsonSyntax(line []byte, err error) error {
	var v any
	if uerr := json.Unmarshal(line, &v); uerr != nil {
		err = uerr
	}
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
		return errors.New("invalid JSON: the line ends before the object is closed")
	case se != nil:
		return fmt.Errorf("invalid JSON at column %d: %v", se.Offset, se)
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return string(t)
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// jsonKind names the kind of a raw JSON value for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return string(raw)
	case c == 'n':
		return "null"
	default:
		return "the number " + string(raw)
	}
}

func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

func parseInt64(raw json.RawMessage) (int64, error) {
	if !isJSONNumber(raw) {
		return 0, fmt.Errorf("want an integer, got %s", jsonKind(raw))
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s is out of the int64 range", raw)
		}
		return 0, fmt.Errorf("want an integer, got %s", raw)
	}
	return v, nil
}

func parseDouble(raw json.RawMessage) (float64, error) {
	if !isJSONNumber(raw) {
		return 0, fmt.Errorf("want a number, got %s", jsonKind(raw))
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of the double range", raw)
	}
	return v, nil
}

func parseVarchar(raw json.RawMessage, maxLen uint32) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("want a string, got %s", jsonKind(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("want a string: %v", err)
	}
	if maxLen > 0 && len(s) > int(maxLen) {
		return "", fmt.Errorf("length %d bytes exceeds max_length %d", len(s), maxLen)
	}
	return s, nil
}

// parseVectorJSON parses a JSON array of exactly dim numbers, each finite
// as a float32. raw has already been checked to be valid JSON, so the
// array can be scanned directly: encoding/json's generic decoding spent
// most of an import's time here.
func parseVectorJSON(raw json.RawMessage, dim int) ([]float32, error) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, fmt.Errorf("want an array of %d numbers, got %s", dim, jsonKind(raw))
	}
	v := make([]float32, 0, dim)
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == ']' {
		return nil, fmt.Errorf("want %d numbers, got 0", dim)
	}
	for i < len(raw) {
		i = skipSpace(raw, i)
		start := i
		for i < len(raw) && raw[i] != ',' && raw[i] != ']' && !isSpace(raw[i]) {
			i++
		}
		if c := raw[start]; c != '-' && (c < '0' || c > '9') {
			if c == '"' || c == '[' || c == '{' {
				i = len(raw) // only the first byte names the kind
			}
			return nil, fmt.Errorf("element %d: want a number, got %s", len(v), jsonKind(raw[start:i]))
		}
		x, err := parseFloat32(raw[start:i])
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", len(v), err)
		}
		v = append(v, x)
		i = skipSpace(raw, i)
		if i < len(raw) && raw[i] == ']' {
			break
		}
		i++ // the comma
	}
	if len(v) != dim {
		return nil, fmt.Errorf("want %d numbers, got %d", dim, len(v))
	}
	return v, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func parseFloat32(raw json.RawMessage) (float32, error) {
	if !isJSONNumber(raw) {
		return 0, fmt.Errorf("want a number, got %s", jsonKind(raw))
	}
	x, err := strconv.ParseFloat(string(raw), 32)
	if err != nil {
		return 0, fmt.Errorf("%s is out of the float32 range", raw)
	}
	return float32(x), nil
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// parseScalar converts a JSON value to a Value of the field's type. JSON
// null means "not given" (nil), as an absent key does.
func parseScalar(f *pb.FieldSchema, raw json.RawMessage) (*pb.Value, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	switch f.Type {
	case pb.FieldType_BOOL:
		switch string(raw) {
		case "true":
			return &pb.Value{Kind: &pb.Value_Bool{Bool: true}}, nil
		case "false":
			return &pb.Value{Kind: &pb.Value_Bool{Bool: false}}, nil
		}
		return nil, fmt.Errorf("want true or false, got %s", jsonKind(raw))
	case pb.FieldType_INT8, pb.FieldType_INT16, pb.FieldType_INT32, pb.FieldType_INT64:
		v, err := parseInt64(raw) // the server checks the narrower ranges
		if err != nil {
			return nil, err
		}
		return &pb.Value{Kind: &pb.Value_Int64{Int64: v}}, nil
	case pb.FieldType_FLOAT, pb.FieldType_DOUBLE:
		v, err := parseDouble(raw)
		if err != nil {
			return nil, err
		}
		return &pb.Value{Kind: &pb.Value_Double{Double: v}}, nil
	case pb.FieldType_VARCHAR:
		s, err := parseVarchar(raw, f.MaxLength)
		if err != nil {
			return nil, err
		}
		return &pb.Value{Kind: &pb.Value_Varchar{Varchar: s}}, nil
	case pb.FieldType_JSON:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		return &pb.Value{Kind: &pb.Value_Json{Json: buf.Bytes()}}, nil
	}
	return nil, fmt.Errorf("field type %s is not supported by this client", f.Type)
}

// randomVector is the vector of row id in the --random data set: Gaussian
// components scaled to unit length. It depends only on (seed, id), so the
// same rows come back whatever the batch size, and a vector can be
// recomputed to search for it.
func randomVector(seed uint64, id int64, dim int) []float32 {
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	v := make([]float32, dim)
	var norm float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		norm += x * x
	}
	if norm == 0 {
		v[0], norm = 1, 1
	}
	inv := 1 / math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// randomRows builds the --random rows with the given ids (which become
// varchar keys when the key is varchar, and are dropped when it is
// auto_id; they still seed the vectors). Scalar fields get a value derived
// from the id so that a schema with non-nullable fields can be filled too.
func randomRows(rs *rowSchema, seed uint64, ids []int64) *pb.Rows {
	b := newRowBatch(rs)
	rows := b.rows
	for _, id := range ids {
		switch {
		case rs.pk.AutoId:
		case rs.varcharPK():
			rows.StrIds = append(rows.StrIds, strconv.FormatInt(id, 10))
		default:
			rows.IntIds = append(rows.IntIds, id)
		}
		rows.Vectors = append(rows.Vectors, randomVector(seed, id, rs.dim)...)
		for i, f := range rs.scalars {
			rows.Fields[i].Values = append(rows.Fields[i].Values, randomValue(f, id))
		}
	}
	return rows
}

func randomValue(f *pb.FieldSchema, id int64) *pb.Value {
	switch f.Type {
	case pb.FieldType_BOOL:
		return &pb.Value{Kind: &pb.Value_Bool{Bool: id%2 == 0}}
	case pb.FieldType_INT8, pb.FieldType_INT16:
		return &pb.Value{Kind: &pb.Value_Int64{Int64: id % 100}}
	case pb.FieldType_INT32:
		return &pb.Value{Kind: &pb.Value_Int64{Int64: id % (1 << 31)}}
	case pb.FieldType_INT64:
		return &pb.Value{Kind: &pb.Value_Int64{Int64: id}}
	case pb.FieldType_FLOAT, pb.FieldType_DOUBLE:
		return &pb.Value{Kind: &pb.Value_Double{Double: float64(id) / 10}}
	case pb.FieldType_VARCHAR:
		s := "row-" + strconv.FormatInt(id, 10)
		if f.MaxLength > 0 && len(s) > int(f.MaxLength) {
			s = s[:f.MaxLength]
		}
		return &pb.Value{Kind: &pb.Value_Varchar{Varchar: s}}
	case pb.FieldType_JSON:
		return &pb.Value{Kind: &pb.Value_Json{Json: fmt.Appendf(nil, `{"id":%d}`, id)}}
	}
	return &pb.Value{}
}
