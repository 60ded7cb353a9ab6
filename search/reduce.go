package search

import "sort"

// Scored is one hit of a shard's answer, identified by primary key so that
// answers from different shards can be merged.
type Scored[T any] struct {
	IntPK int64
	StrPK string
	Dist  float32
	Item  T
}

// Reduce merges per-shard answers (each sorted closest first) into the k
// closest overall. Ties are broken by primary key so that the merged answer
// does not depend on the order shards replied in.
func Reduce[T any](answers [][]Scored[T], k int) []Scored[T] {
	var all []Scored[T]
	for _, a := range answers {
		all = append(all, a...)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Dist != b.Dist {
			return a.Dist < b.Dist
		}
		if a.IntPK != b.IntPK {
			return a.IntPK < b.IntPK
		}
		return a.StrPK < b.StrPK
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}
