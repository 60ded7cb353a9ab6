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
)

// ParseType accepts "FLAT", "HNSW", "IVF_FLAT" and "IVF_SQ8" in any case.
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
	}
	return TypeUnknown, fmt.Errorf("%w: index type %q must be one of FLAT, HNSW, IVF_FLAT, IVF_SQ8", ErrInvalidSpec, s)
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
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return t >= TypeFlat && t <= TypeIVFSQ8 }

// Limits and defaults of the build parameters.
const (
	MinM, MaxM, DefaultM                               = 4, 64, 16
	MinEfConstruction, MaxEfConstruction               = 8, 512
	DefaultEfConstruction                              = 200
	MinNlist, MaxNlist, DefaultNlist                   = 1, 65536, 1024
	MinEf, MaxEf, DefaultEf                            = 1, 32768, 64
	MinNprobe, MaxNprobe, DefaultNprobe                = 1, 65536, 8
	MinKMeansIters, MaxKMeansIters, DefaultKMeansIters = 1, 100, 20
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
	// KMeansIters is the number of Lloyd iterations of IVF training.
	KMeansIters int
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
	case TypeIVFFlat, TypeIVFSQ8:
		if s.Params.Nlist == 0 {
			s.Params.Nlist = DefaultNlist
		}
		if s.Params.KMeansIters == 0 {
			s.Params.KMeansIters = DefaultKMeansIters
		}
	}
	return s
}

// Validate reports the first field of s out of range, naming the field and
// the limit. The error wraps ErrInvalidSpec.
func (s Spec) Validate() error {
	if !s.Type.Valid() {
		return fmt.Errorf("%w: type (%d) must be one of FLAT, HNSW, IVF_FLAT, IVF_SQ8", ErrInvalidSpec, uint8(s.Type))
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
	case TypeIVFFlat, TypeIVFSQ8:
		if err := inRange("nlist", p.Nlist, MinNlist, MaxNlist); err != nil {
			return err
		}
		if err := inRange("kmeans_iters", p.KMeansIters, MinKMeansIters, MaxKMeansIters); err != nil {
			return err
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
	return nil
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
