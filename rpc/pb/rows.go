package pb

// Pick returns the rows of r at positions pos, in that order, as a new
// columnar batch: ids, vectors and every field column. The vector width is
// the batch's floats over its rows. Positions past the end of a column are
// left out of it. Written by hand; make proto leaves this file alone.
func (r *Rows) Pick(pos []int) *Rows {
	dim := 0
	if n := len(r.IntIds) + len(r.StrIds); n > 0 {
		dim = len(r.Vectors) / n
	}
	out := &Rows{}
	for _, i := range pos {
		if len(r.IntIds) > 0 {
			out.IntIds = append(out.IntIds, r.IntIds[i])
		}
		if len(r.StrIds) > 0 {
			out.StrIds = append(out.StrIds, r.StrIds[i])
		}
		if dim > 0 && (i+1)*dim <= len(r.Vectors) {
			out.Vectors = append(out.Vectors, r.Vectors[i*dim:(i+1)*dim]...)
		}
	}
	for _, f := range r.Fields {
		nf := &FieldColumn{Name: f.Name}
		for _, i := range pos {
			if i < len(f.Values) {
				nf.Values = append(nf.Values, f.Values[i])
			}
		}
		out.Fields = append(out.Fields, nf)
	}
	return out
}
