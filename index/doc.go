// Package index owns vector distance kernels and the vector indexes built on
// them: FLAT (exact), and the approximate indexes added for sealed segments.
//
// The pure-Go kernels in kernels_generic.go are the reference. Architecture
// specific kernels are chosen once at start-up (the only init() in the
// project) and are tested against the reference.
//
// Distances follow one convention everywhere in this package: smaller is
// closer. L2 is the squared Euclidean distance; IP and COSINE use the negated
// inner product (COSINE vectors are normalised at insert, so the inner product
// is the cosine similarity). Score converts a distance into the value users
// see (squared L2, or the similarity for IP and COSINE).
//
// This package is a leaf: it imports nothing of raftvec.
package index
