package fsm

import "context"

// ExportBatch is one batch of an export: rows of one partition.
type ExportBatch struct {
	Partition uint32
	Rows      []Row // every field: the vector and the scalars in schema order
}

// Export calls emit with every row visible at ts, with every field, in
// batches of at most batch rows, each of one partition. The views are
// taken once, at the start, so the rows are one cut at ts even if writes
// and compactions run while it streams: a compaction replaces segments in
// the shard but leaves the old ones, which the views hold, as they were.
// The caller has made sure the shard has applied ts.
func (s *Shard) Export(ctx context.Context, ts uint64, batch int, emit func(ExportBatch) error) (rows int64, err error) {
	if batch < 1 || batch > MaxQueryRow {
		return 0, invalidf("batch_rows (%d) must be between 1 and %d", batch, MaxQueryRow)
	}
	sc, views, err := s.readViews(ts, Filter{})
	if err != nil {
		return 0, err
	}
	fields := make([]int, 0, 1+len(sc.Scalars))
	fields = append(fields, -1)
	for i := range sc.Scalars {
		fields = append(fields, i)
	}
	pending := map[uint32][]Row{}
	flush := func(part uint32) error {
		b := pending[part]
		if len(b) == 0 {
			return nil
		}
		delete(pending, part)
		rows += int64(len(b))
		return emit(ExportBatch{Partition: part, Rows: b})
	}
	for _, v := range views {
		for r := 0; r < v.n; r++ {
			if !v.Visible(uint32(r)) {
				continue
			}
			if r%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return rows, err
				}
			}
			part := v.parts[r]
			pending[part] = append(pending[part], v.seg.row(uint32(r), fields))
			if len(pending[part]) == batch {
				if err := flush(part); err != nil {
					return rows, err
				}
			}
		}
	}
	for part := range pending {
		if err := flush(part); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// ExportFields are the field names of an export's rows, in the order of
// Row.Fields (the vector first, as VectorField).
func (s *Schema) ExportFields() []string {
	out := make([]string, 0, 1+len(s.Scalars))
	out = append(out, VectorField)
	for _, f := range s.Scalars {
		out = append(out, f.Name)
	}
	return out
}
