package index

import (
	"fmt"
	"math"
	"strings"
)

// Metric is a distance function over float32 vectors.
type Metric uint8

const (
	// MetricUnknown is the zero value; it is never valid.
	MetricUnknown Metric = iota
	// L2 is the squared Euclidean distance.
	L2
	// IP is the inner product (larger is more similar).
	IP
	// Cosine is the cosine similarity; vectors are normalised at insert.
	Cosine
)

// ParseMetric accepts "l2", "ip" and "cosine" in any case.
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "l2":
		return L2, nil
	case "ip":
		return IP, nil
	case "cosine":
		return Cosine, nil
	}
	return MetricUnknown, fmt.Errorf("metric %q: must be one of l2, ip, cosine", s)
}

func (m Metric) String() string {
	switch m {
	case L2:
		return "L2"
	case IP:
		return "IP"
	case Cosine:
		return "COSINE"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

// Valid reports whether m is one of the defined metrics.
func (m Metric) Valid() bool { return m == L2 || m == IP || m == Cosine }

// Distance returns the distance between a and b under m: smaller is closer.
// a and b must have the same length.
func (m Metric) Distance(a, b []float32) float32 {
	if m == L2 {
		return L2Squared(a, b)
	}
	return -Dot(a, b)
}

// Score converts a distance into the value reported to users: the squared L2
// distance for L2 (smaller is closer), the similarity for IP and COSINE
// (larger is closer).
func (m Metric) Score(dist float32) float32 {
	if m == L2 {
		return dist
	}
	return -dist
}

// Normalize scales v to unit length in place. A zero vector is left as is.
func Normalize(v []float32) {
	n := Dot(v, v)
	if n == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(float64(n)))
	for i := range v {
		v[i] *= inv
	}
}
