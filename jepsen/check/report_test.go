package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raftvec/raftvec/jepsen/history"
)

func sampleReport(dir string) Report {
	return Report{
		Title:    "register × partition-leader",
		Workload: "register",
		Nemesis:  "partition-leader",
		Command:  "make jepsen WORKLOAD=register NEMESIS=partition-leader SEED=7",
		Started:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration: time.Minute,
		Results: []Result{
			{Name: "register", Valid: false,
				Anomalies: []Anomaly{
					{Kind: AnomalyNonLinearizable, Ops: []int{12}, Message: "key 3: no linearization <script>alert(1)</script>"},
					{Kind: AnomalyNonLinearizable, Ops: []int{40}, Message: "key 4: second"},
					{Kind: AnomalyNonLinearizable, Ops: []int{41}, Message: "key 5: third"},
				},
				Counts:    map[string]int{"reads": 120, AnomalyNonLinearizable: 3},
				Artifacts: map[string]string{"porcupine": filepath.Join(dir, "porcupine.html")}},
			{Name: "convergence", Valid: true, Counts: map[string]int{"replicas": 3}},
		},
		Counts: map[string]int{"ops": 500, "upsert:ok": 200},
		Timeline: []history.NemesisEvent{
			{Time: 1_500_000_000, End: 9_000_000_000, Kind: "partition", Description: "isolate leader n1", Nodes: []string{"n1"}},
		},
		Files:        []Link{{"history", filepath.Join(dir, "history.jsonl")}, {"n1 log", "logs/n1.log"}},
		MaxAnomalies: 2,
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.html")
	if err := WriteReport(path, sampleReport(dir)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		"FAIL: anomalies found",
		`<td class="fail">INVALID</td>`,
		`<td class="pass">valid</td>`,
		`href="#checker-register"`,
		"key 3: no linearization &lt;script&gt;",
		"key 4: second",
		"… and 1 more anomalies not listed.",
		`href="porcupine.html"`, // made relative to the report
		`href="history.jsonl"`,
		`href="logs/n1.log"`,
		"isolate leader n1",
		"1.500 s",
		"make jepsen WORKLOAD=register",
		"2026-01-02T03:04:05Z",
		"upsert:ok",
		"reads=120",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, absent := range []string{"<script>", "key 5: third", dir} {
		if strings.Contains(page, absent) {
			t.Errorf("report contains %q", absent)
		}
	}
}

func TestRenderReportPass(t *testing.T) {
	var buf bytes.Buffer
	err := RenderReport(&buf, Report{Results: []Result{{Name: "set", Valid: true}}})
	if err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"PASS: every checker is valid", "raftvec consistency run", "No anomalies.", "No faults were injected."} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(page, "INVALID") {
		t.Error("a passing report says INVALID")
	}
}

func TestWriteReportUnwritable(t *testing.T) {
	if err := WriteReport(filepath.Join(t.TempDir(), "no", "index.html"), Report{}); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
