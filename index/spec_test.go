package index

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDefaultSpecValidates(t *testing.T) {
	for _, typ := range []Type{TypeFlat, TypeHNSW, TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		for _, m := range []Metric{L2, IP, Cosine} {
			if err := DefaultSpec(typ, m).Validate(); err != nil {
				t.Fatalf("DefaultSpec(%v, %v): %v", typ, m, err)
			}
		}
	}
	h := DefaultSpec(TypeHNSW, L2).Params
	if h.M != 16 || h.EfConstruction != 200 {
		t.Fatalf("HNSW defaults %+v, want M 16 efConstruction 200", h)
	}
	// Partial params keep what was given.
	s := Spec{Type: TypeHNSW, Metric: L2, Params: Params{M: 32}}.WithDefaults()
	if s.Params.M != 32 || s.Params.EfConstruction != DefaultEfConstruction {
		t.Fatalf("WithDefaults overwrote or missed: %+v", s.Params)
	}
}

func TestSpecValidateNamesFieldAndLimit(t *testing.T) {
	hnsw := func(m, ef int) Spec {
		return Spec{Type: TypeHNSW, Metric: L2, Params: Params{M: m, EfConstruction: ef}}
	}
	ivf := func(nlist, iters int) Spec {
		return Spec{Type: TypeIVFSQ8, Metric: IP, Params: Params{Nlist: nlist, KMeansIters: iters}}
	}
	cases := []struct {
		spec Spec
		want string // "" = valid
	}{
		{hnsw(4, 8), ""},
		{hnsw(64, 512), ""},
		{hnsw(3, 200), "M (3) must be between 4 and 64"},
		{hnsw(65, 200), "M (65) must be between 4 and 64"},
		{hnsw(16, 7), "efConstruction (7) must be between 8 and 512"},
		{hnsw(16, 513), "efConstruction (513) must be between 8 and 512"},
		{ivf(1, 1), ""},
		{ivf(65536, 100), ""},
		{ivf(0, 20), "nlist (0) must be between 1 and 65536"},
		{ivf(65537, 20), "nlist (65537) must be between 1 and 65536"},
		{ivf(16, 101), "kmeans_iters (101) must be between 1 and 100"},
		{Spec{Type: TypeHNSW}, "metric (0)"},
		{Spec{Metric: L2}, "type (0)"},
		{Spec{Type: TypeFlat, Metric: Cosine}, ""},
	}
	for _, c := range cases {
		err := c.spec.Validate()
		if c.want == "" {
			if err != nil {
				t.Fatalf("%+v: unexpected %v", c.spec, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%+v: err %v, want ErrInvalidSpec containing %q", c.spec, err, c.want)
		}
	}
}

func TestSearchParams(t *testing.T) {
	for _, c := range []struct {
		p    SearchParams
		want string
	}{
		{SearchParams{}, ""},
		{SearchParams{Ef: 32768, Nprobe: 65536}, ""},
		{SearchParams{Ef: 32769}, "ef (32769) must be between 1 and 32768"},
		{SearchParams{Ef: -1}, "ef (-1)"},
		{SearchParams{Nprobe: 65537}, "nprobe (65537) must be between 1 and 65536"},
	} {
		err := c.p.Validate()
		if (c.want == "") != (err == nil) || (err != nil && (!errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), c.want))) {
			t.Fatalf("%+v: err %v, want %q", c.p, err, c.want)
		}
	}
	if got := (SearchParams{}).ef(10); got != DefaultEf {
		t.Fatalf("default ef = %d", got)
	}
	if got := (SearchParams{Ef: 5}).ef(10); got != 10 {
		t.Fatalf("ef below k = %d, want k", got)
	}
	if got := (SearchParams{Nprobe: 100}).nprobe(16); got != 16 {
		t.Fatalf("nprobe above nlist = %d, want nlist", got)
	}
}

func TestParseType(t *testing.T) {
	for s, want := range map[string]Type{"hnsw": TypeHNSW, " IVF_FLAT": TypeIVFFlat, "ivf_sq8": TypeIVFSQ8, "Ivf_Pq": TypeIVFPQ, "Flat": TypeFlat} {
		if got, err := ParseType(s); err != nil || got != want {
			t.Fatalf("ParseType(%q) = %v, %v", s, got, err)
		}
		if got, _ := ParseType(want.String()); got != want {
			t.Fatalf("ParseType(%v.String()) = %v", want, got)
		}
	}
	if _, err := ParseType("IVF_HNSW"); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "must be one of FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ") {
		t.Fatalf("ParseType(IVF_HNSW): %v", err)
	}
}

func TestBuilder(t *testing.T) {
	if _, err := NewCPUBuilder(BuildOptions{Threads: -1}); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "threads (-1)") {
		t.Fatalf("threads -1: %v", err)
	}
	b, err := NewBuilder(DefaultBuildOptions())
	if err != nil {
		t.Fatal(err)
	}
	if want := "cpu (" + KernelLevel() + ")"; b.Name() != want {
		t.Fatalf("builder name %q, want %q (no cuda tag in tests)", b.Name(), want)
	}
	ctx := context.Background()
	data := make([]float32, 10*4)
	if _, err := b.Build(ctx, DefaultSpec(TypeHNSW, L2), data[:9], 4); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("ragged vectors: %v", err)
	}
	if _, err := b.Build(ctx, DefaultSpec(TypeHNSW, L2), data, 0); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("dim 0: %v", err)
	}
	if ix, err := b.Build(ctx, Spec{Type: TypeHNSW, Metric: L2}, data, 4); !errors.Is(err, ErrInvalidSpec) || ix != nil {
		t.Fatalf("zero params: %v, %v", ix, err)
	}
	ix, err := b.Build(ctx, DefaultSpec(TypeFlat, IP), data, 4)
	if err != nil || ix.Len() != 10 || ix.Dim() != 4 {
		t.Fatalf("flat build: %v, %v", ix, err)
	}
}
