package check

import (
	"cmp"
	"slices"
	"strings"
)

// ReplicaReport is what one replica of one Raft group said after heal.
type ReplicaReport struct {
	Node string `json:"node"`
	// Group names the Raft group (shard) the replica belongs to; replicas
	// are compared within their group. Empty when there is one group.
	Group        string `json:"group,omitempty"`
	AppliedIndex uint64 `json:"applied_index"`
	Digest       string `json:"digest"`
	// Error is set when the report could not be fetched.
	Error string `json:"error,omitempty"`
}

// Convergence checks that, within each group, every replica reported, and
// that all report the same applied index and the same state digest.
func Convergence(reports []ReplicaReport) Result {
	r := newResult("convergence")
	if len(reports) == 0 {
		r.add(AnomalyNoReports, nil, "no replica reports")
		return r.done()
	}
	groups := map[string][]ReplicaReport{}
	for _, rep := range reports {
		groups[rep.Group] = append(groups[rep.Group], rep)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	slices.Sort(names)
	r.Counts["groups"] = len(names)
	r.Counts["replicas"] = len(reports)
	for _, g := range names {
		reps := groups[g]
		slices.SortFunc(reps, func(a, b ReplicaReport) int { return cmp.Compare(a.Node, b.Node) })
		label := "group " + g
		if g == "" {
			label = "the group"
		}
		var ok []ReplicaReport
		for _, rep := range reps {
			if rep.Error != "" {
				r.add(AnomalyUnreachable, nil, "%s: replica on %s did not report: %s", label, rep.Node, rep.Error)
				continue
			}
			ok = append(ok, rep)
		}
		if len(ok) < 2 {
			continue
		}
		if s := split(ok, func(rep ReplicaReport) string { return itoa(int64(rep.AppliedIndex)) }); s != "" {
			r.add(AnomalyIndexDiverged, nil, "%s: applied indexes differ: %s", label, s)
		}
		if s := split(ok, func(rep ReplicaReport) string { return rep.Digest }); s != "" {
			r.add(AnomalyDigestDiverged, nil, "%s: state digests differ: %s", label, s)
		}
	}
	return r.done()
}

// split describes how replicas disagree on a value ("" when they agree), as
// value → nodes in a stable order.
func split(reps []ReplicaReport, value func(ReplicaReport) string) string {
	byValue := map[string][]string{}
	var order []string
	for _, rep := range reps {
		v := value(rep)
		if _, ok := byValue[v]; !ok {
			order = append(order, v)
		}
		byValue[v] = append(byValue[v], rep.Node)
	}
	if len(order) < 2 {
		return ""
	}
	parts := make([]string, 0, len(order))
	for _, v := range order {
		parts = append(parts, v+" on "+strings.Join(byValue[v], ", "))
	}
	return strings.Join(parts, "; ")
}
