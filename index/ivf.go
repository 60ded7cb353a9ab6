package index

import (
	"context"
	"math/rand"
)

func BuildIVF(ctx context.Context, spec Spec, vectors []float32, dim int, rng *rand.Rand, threads int) (Index, error) {
	return nil, ErrUnsupported
}
