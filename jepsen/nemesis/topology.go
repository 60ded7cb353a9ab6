package nemesis

import "slices"

// Link is a pair of node indexes whose Raft traffic is cut.
type Link = [2]int

// Isolate cuts node x off from every other node of n.
func Isolate(x, n int) []Link {
	var out []Link
	for y := range n {
		if y != x {
			out = append(out, Link{min(x, y), max(x, y)})
		}
	}
	return out
}

// Split cuts every link between the two sides.
func Split(a, b []int) []Link {
	var out []Link
	for _, x := range a {
		for _, y := range b {
			out = append(out, Link{min(x, y), max(x, y)})
		}
	}
	sortLinks(out)
	return out
}

// Halves splits the nodes in order into a minority (the first len/2) and a
// majority, and returns the minority and the links cut.
func Halves(order []int) (minority []int, links []Link) {
	k := len(order) / 2
	minority = slices.Clone(order[:k])
	slices.Sort(minority)
	return minority, Split(order[:k], order[k:])
}

// Bridge splits the nodes in order into two halves that cannot talk to each
// other and one node (the middle of order) that talks to both: each half
// plus the bridge is a majority. It returns the bridge node and the links
// cut. Five nodes make the classic 2 + bridge + 2.
func Bridge(order []int) (bridge int, links []Link) {
	m := len(order) / 2
	return order[m], Split(order[:m], order[m+1:])
}

// Ring arranges the nodes in a ring in order and cuts every link except
// those between ring neighbours: on five nodes each node still reaches a
// majority (itself and two neighbours), but no two nodes see the same
// majority.
func Ring(order []int) []Link {
	n := len(order)
	var out []Link
	for i := range n {
		for j := i + 1; j < n; j++ {
			d := j - i
			if d != 1 && d != n-1 {
				x, y := order[i], order[j]
				out = append(out, Link{min(x, y), max(x, y)})
			}
		}
	}
	sortLinks(out)
	return out
}

// Reachable reports, for each node of n, which nodes it can reach directly
// when links are cut (itself included).
func Reachable(n int, links []Link) [][]bool {
	out := make([][]bool, n)
	for i := range out {
		out[i] = make([]bool, n)
		for j := range out[i] {
			out[i][j] = true
		}
	}
	for _, l := range links {
		out[l[0]][l[1]], out[l[1]][l[0]] = false, false
	}
	return out
}

func sortLinks(ls []Link) {
	slices.SortFunc(ls, func(a, b Link) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
}
