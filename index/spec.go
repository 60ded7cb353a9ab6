package index

import (
	"fmt"
	"strings"
)

// Type names an index algorithm.
type Type uint8

const (
	// TypeUnknown is the zero value; it is never valid.
	TypeUnknown Type = iota
	// TypeFlat is exact search over the segment; it has no build cost.
	TypeFlat
	// TypeHNSW is a hierarchical navigable small world graph.
	TypeHNSW
	// TypeIVFFlat partitions rows into Nlist k-means cells and scans the
	// Nprobe nearest cells exactly.
	TypeIVFFlat
	// TypeIVFSQ8 is TypeIVFFlat scanning 8-bit scalar-quantised codes, with
	// the shortlist re-ranked exactly against the float vectors.
	TypeIVFSQ8
	// TypeIVFPQ is TypeIVFFlat scanning product-quantised codes (PQM bytes
	// per row) by table lookups, with a shortlist of Refine×k candidates
	// re-ranked exactly against the float vectors.
	TypeIVFPQ
)

// typeNames lists the types for error messages.
const typeNames = "FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ"

// ParseType accepts "FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8" and "IVF_PQ" in
// any case.
func ParseType(s string) (Type, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "FLAT":
		return TypeFlat, nil
	case "HNSW":
		return TypeHNSW, nil
	case "IVF_FLAT":
		return TypeIVFFlat, nil
	case "IVF_SQ8":
		return TypeIVFSQ8, nil
	case "IVF_PQ":
		return TypeIVFPQ, nil
	}
	return TypeUnknown, fmt.Errorf("%w: index type %q must be one of %s", ErrInvalidSpec, s, typeNames)
}

func (t Type) String() string {
	switch t {
	case TypeFlat:
		return "FLAT"
	case TypeHNSW:
		return "HNSW"
	case TypeIVFFlat:
		return "IVF_FLAT"
	case TypeIVFSQ8:
		return "IVF_SQ8"
	case TypeIVFPQ:
		return "IVF_PQ"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return t >= TypeFlat && t <= TypeIVFPQ }

// Limits and defaults of the build parameters.
const (
	MinM, MaxM, DefaultM                               = 4, 64, 16
	MinEfConstruction, MaxEfConstruction               = 8, 512
	DefaultEfConstruction                              = 200
	MinNlist, MaxNlist, DefaultNlist                   = 1, 65536, 1024
	MinEf, MaxEf, DefaultEf                            = 1, 32768, 64
	MinNprobe, MaxNprobe, DefaultNprobe                = 1, 65536, 8
	MinKMeansIters, MaxKMeansIters, DefaultKMeansIters = 1, 100, 20
	// IVF_PQ: PQM subquantizers of 8 bits each (one byte per row and
	// subquantizer); the default is DefaultPQM(dim). MaxPQM bounds the
	// per-query lookup table (MaxPQM×256 floats).
	MinPQM, MaxPQM = 1, 1024
	// IVF_PQ re-ranks Refine×k shortlisted candidates exactly.
	MinRefine, MaxRefine, DefaultRefine = 1, 256, 8
	// MaxRows bounds the rows of one index (row numbers are uint32).
	MaxRows = 1<<31 - 1
	maxDim  = 1 << 16
)

// Params are the build parameters of an index. Only those of the spec's Type
// are used; the others are ignored and may be zero.
type Params struct {
	// M is the HNSW out-degree on layers above 0 (layer 0 allows 2M).
	M int
	// EfConstruction is the HNSW candidate list size while inserting.
	EfConstruction int
	// Nlist is the number of IVF cells. A segment with fewer rows than
	// Nlist is built with one cell per row.
	Nlist int
	// KMeansIters is the number of Lloyd iterations of IVF training (and
	// of each IVF_PQ subquantizer).
	KMeansIters int
	// PQM is the number of IVF_PQ subquantizers; it must divide the
	// dimension. Zero means DefaultPQM(dim), resolved by WithDim.
	PQM int
}

// Spec says which index to build for a segment and how. The zero Spec is not
// valid; start from DefaultSpec.
type Spec struct {
	Type   Type
	Metric Metric
	Params Params
}

// DefaultSpec returns the spec of an index of type t under metric m with
// every parameter at its default.
func DefaultSpec(t Type, m Metric) Spec {
	return Spec{Type: t, Metric: m}.WithDefaults()
}

// WithDefaults returns s with every zero parameter of its Type set to its
// default, so that a request may name only the parameters it cares about.
func (s Spec) WithDefaults() Spec {
	switch s.Type {
	case TypeHNSW:
		if s.Params.M == 0 {
			s.Params.M = DefaultM
		}
		if s.Params.EfConstruction == 0 {
			s.Params.EfConstruction = DefaultEfConstruction
		}
	case TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ:
		if s.Params.Nlist == 0 {
			s.Params.Nlist = DefaultNlist
		}
		if s.Params.KMeansIters == 0 {
			s.Params.KMeansIters = DefaultKMeansIters
		}
	}
	return s
}

// DefaultPQM is the IVF_PQ subquantizer count for dim: the largest divisor
// of dim that is at most dim/4 (and MaxPQM), so a row's code takes at most
// 1/16 of its float32 size (32 bytes at d=128, 196 at d=784).
func DefaultPQM(dim int) int {
	best := 1
	for m := 1; m <= min(dim/4, MaxPQM); m++ {
		if dim%m == 0 {
			best = m
		}
	}
	return best
}

// WithDim returns s.WithDefaults() with the parameters that depend on the
// vector dimension resolved: IVF_PQ's PQM when zero. Other types get PQM
// 0, so that a spec compares equal to the Spec() of the index built from it.
func (s Spec) WithDim(dim int) Spec {
	s = s.WithDefaults()
	switch {
	case s.Type != TypeIVFPQ:
		s.Params.PQM = 0
	case s.Params.PQM == 0:
		s.Params.PQM = DefaultPQM(dim)
	}
	return s
}

// ValidateDim is Validate plus the checks that need the vector dimension:
// IVF_PQ's PQM must be set and divide dim.
func (s Spec) ValidateDim(dim int) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Type != TypeIVFPQ {
		return nil
	}
	m := s.Params.PQM
	if m == 0 {
		return fmt.Errorf("%w: pq_m (0) must be set (WithDim resolves the default)", ErrInvalidSpec)
	}
	if m > dim || dim%m != 0 {
		return fmt.Errorf("%w: pq_m (%d) must divide dim (%d) and be at most %d", ErrInvalidSpec, m, dim, min(dim, MaxPQM))
	}
	return nil
}

// Validate reports the first field of s out of range, naming the field and
// the limit. The error wraps ErrInvalidSpec.
func (s Spec) Validate() error {
	if !s.Type.Valid() {
		return fmt.Errorf("%w: type (%d) must be one of %s", ErrInvalidSpec, uint8(s.Type), typeNames)
	}
	if !s.Metric.Valid() {
		return fmt.Errorf("%w: metric (%d) must be one of L2, IP, COSINE", ErrInvalidSpec, uint8(s.Metric))
	}
	p := s.Params
	switch s.Type {
	case TypeHNSW:
		if err := inRange("M", p.M, MinM, MaxM); err != nil {
			return err
		}
		if err := inRange("efConstruction", p.EfConstruction, MinEfConstruction, MaxEfConstruction); err != nil {
			return err
		}
	case TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ:
		if err := inRange("nlist", p.Nlist, MinNlist, MaxNlist); err != nil {
			return err
		}
		if err := inRange("kmeans_iters", p.KMeansIters, MinKMeansIters, MaxKMeansIters); err != nil {
			return err
		}
		if s.Type == TypeIVFPQ && p.PQM != 0 {
			if err := inRange("pq_m", p.PQM, MinPQM, MaxPQM); err != nil {
				return err
			}
		}
	}
	return nil
}

func inRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: %s (%d) must be between %d and %d", ErrInvalidSpec, field, v, lo, hi)
	}
	return nil
}

// SearchParams are chosen per request. A zero field means its default; an
// index ignores the fields of other index types.
type SearchParams struct {
	// Ef is the HNSW candidate list size (recall/speed knob). The search
	// uses max(Ef, k).
	Ef int
	// Nprobe is how many IVF cells are scanned, capped at the index's Nlist.
	Nprobe int
	// Refine is the IVF_PQ re-rank factor: the Refine×k closest rows by
	// code are re-ranked with exact distances (DefaultRefine when zero).
	Refine int
}

// Validate reports a field out of range, naming it and the limit; the request
// layer calls it before searching. Indexes clamp rather than fail, so an
// unvalidated value cannot make Search panic. The error wraps ErrInvalidSpec.
func (p SearchParams) Validate() error {
	if p.Ef != 0 {
		if err := inRange("ef", p.Ef, MinEf, MaxEf); err != nil {
			return err
		}
	}
	if p.Nprobe != 0 {
		if err := inRange("nprobe", p.Nprobe, MinNprobe, MaxNprobe); err != nil {
			return err
		}
	}
	if p.Refine != 0 {
		if err := inRange("refine", p.Refine, MinRefine, MaxRefine); err != nil {
			return err
		}
	}
	return nil
}

// shortlist returns how many IVF_PQ candidates are re-ranked for top k.
func (p SearchParams) shortlist(k int) int {
	r := p.Refine
	if r <= 0 {
		r = DefaultRefine
	}
	return min(r, MaxRefine) * k
}

// ef returns the effective HNSW list size for a top-k search.
func (p SearchParams) ef(k int) int {
	ef := p.Ef
	if ef <= 0 {
		ef = DefaultEf
	}
	return min(max(ef, k), MaxEf)
}

// nprobe returns the effective number of IVF cells to scan.
func (p SearchParams) nprobe(nlist int) int {
	np := p.Nprobe
	if np <= 0 {
		np = DefaultNprobe
	}
	return min(np, nlist)
}
