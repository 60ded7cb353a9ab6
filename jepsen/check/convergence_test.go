package check

import (
	"strings"
	"testing"
)

func TestConvergence(t *testing.T) {
	rep := func(node, group string, idx uint64, digest string) ReplicaReport {
		return ReplicaReport{Node: node, Group: group, AppliedIndex: idx, Digest: digest}
	}
	for _, tc := range []struct {
		name    string
		reports []ReplicaReport
		kinds   []string
	}{
		{"equal", []ReplicaReport{rep("n1", "", 42, "ab"), rep("n2", "", 42, "ab"), rep("n3", "", 42, "ab")}, nil},
		{"groups compared apart", []ReplicaReport{rep("n1", "s1", 42, "ab"), rep("n2", "s1", 42, "ab"),
			rep("n1", "s2", 7, "cd"), rep("n2", "s2", 7, "cd")}, nil},
		{"no reports", nil, []string{AnomalyNoReports}},
		{"applied index differs", []ReplicaReport{rep("n1", "", 42, "ab"), rep("n2", "", 41, "ab")},
			[]string{AnomalyIndexDiverged}},
		{"digest differs", []ReplicaReport{rep("n1", "", 42, "ab"), rep("n2", "", 42, "ab"), rep("n3", "", 42, "zz")},
			[]string{AnomalyDigestDiverged}},
		{"both differ in one group", []ReplicaReport{rep("n1", "s1", 42, "ab"), rep("n2", "s1", 42, "ab"),
			rep("n1", "s2", 7, "cd"), rep("n2", "s2", 8, "ce")}, []string{AnomalyIndexDiverged, AnomalyDigestDiverged}},
		{"unreachable replica", []ReplicaReport{rep("n1", "", 42, "ab"), rep("n2", "", 42, "ab"),
			{Node: "n3", Error: "connection refused"}}, []string{AnomalyUnreachable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, Convergence(tc.reports), tc.kinds...)
		})
	}
	res := Convergence([]ReplicaReport{rep("n2", "s1", 1, "x"), rep("n1", "s1", 1, "y"), rep("n3", "s1", 1, "x")})
	if msg := res.Anomalies[0].Message; !strings.Contains(msg, "group s1") || !strings.Contains(msg, "x on n2, n3; y on n1") &&
		!strings.Contains(msg, "y on n1; x on n2, n3") {
		t.Fatalf("message does not say who disagrees: %q", msg)
	}
}
