package search

import (
	"context"
	"sort"

	"github.com/raftvec/raftvec/index"
)

// Segment is a read-only view of one segment at a fixed read timestamp.
//
// A view is taken under the segment owner's lock and then read without it:
// the slices it returns never change for rows below Len(), and Visible may be
// called from any goroutine. Views are cheap; take one per read.
type Segment interface {
	// Len is the number of rows in the view.
	Len() int
	// Vectors returns Len()*dim floats, row after row.
	Vectors() []float32
	// Visible reports whether a row is visible at the view's timestamp:
	// inserted at or before it and not deleted at or before it.
	Visible(row uint32) bool
	// Index is the segment's built index, or nil: then it is searched
	// exactly. An index searches with Visible as its filter, so rows
	// deleted since it was built are skipped without a rebuild.
	Index() index.Index
}

// Hit is a search result inside one shard: which segment (its position in
// the slice given to Segments), which row, and the distance (smaller is
// closer).
type Hit struct {
	Segment int
	Row     uint32
	Dist    float32
}

// Segments runs a top-k search of q over segs and returns the k closest
// visible rows, closest first: exact over segments without an index, with
// the index (and params) over the others. It checks ctx between segments.
func Segments(ctx context.Context, m index.Metric, dim int, segs []Segment, q []float32, k int, params index.SearchParams) ([]Hit, error) {
	var all []Hit
	for i, s := range segs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.Len() == 0 {
			continue
		}
		var cands []index.Candidate
		if ix := s.Index(); ix != nil {
			cands = ix.Search(q, k, params, s.Visible)
		} else {
			cands = index.FlatSearch(m, q, s.Vectors(), dim, k, s.Visible)
		}
		for _, c := range cands {
			all = append(all, Hit{Segment: i, Row: c.Row, Dist: c.Dist})
		}
	}
	sort.Slice(all, func(i, j int) bool { return hitLess(all[i], all[j]) })
	if len(all) > k {
		all = all[:k]
	}
	return all, nil
}

func hitLess(a, b Hit) bool {
	if a.Dist != b.Dist {
		return a.Dist < b.Dist
	}
	if a.Segment != b.Segment {
		return a.Segment < b.Segment
	}
	return a.Row < b.Row
}
