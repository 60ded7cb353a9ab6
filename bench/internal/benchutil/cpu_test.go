package benchutil

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func spin(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		x++
	}
	_ = x
}

func TestCPUCounters(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	p := &Procs{}
	s0 := p.SampleCPU()
	spin(200 * time.Millisecond)
	u := p.SampleCPU().Since(s0)
	if u.Self < 50*time.Millisecond {
		t.Errorf("self CPU over 200ms of spinning = %s", u.Self)
	}
	if u.Busy <= 0 || u.All < u.Busy || u.BusyFrac() <= 0 || u.BusyFrac() > 1 {
		t.Errorf("machine CPU: busy %s of %s", u.Busy, u.All)
	}
	if u.Children != 0 {
		t.Errorf("children CPU = %s with no children", u.Children)
	}
	if c := ProcCPU(os.Getpid()); c <= 0 {
		t.Errorf("ProcCPU(self) = %s", c)
	}
	if c := ProcCPU(-1); c != 0 {
		t.Errorf("ProcCPU(-1) = %s", c)
	}
}

func TestScaleOverhead(t *testing.T) {
	cpu := func(ours, other float64) CPUUsage {
		w := time.Second
		return CPUUsage{Wall: w, Children: time.Duration(ours * float64(w)), Busy: time.Duration((ours + other) * float64(w)), All: 2 * w}
	}
	pts := []ScalePoint{
		{Shards: 4, Units: 3000, Rate: 1000, P50: 40 * time.Millisecond, CPU: cpu(1.5, 0.5)},
		{Shards: 1, Units: 6000, Rate: 2000, P50: 10 * time.Millisecond, CPU: cpu(1.9, 0.1)},
	}
	got := strings.Join(ScaleOverhead(pts, "w", "query"), "\n")
	for _, want := range []string{"throughput(1)/throughput(4) = **2.00×**", "+30.0ms** in all, +10.0ms per added shard",
		"316.7µs → 500.0µs", "bounded by CPU", "took up to 0.50 CPUs"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if l := ScaleOverhead(pts[:1], "w", "query"); len(l) != 1 || !strings.Contains(l[0], "fewer than two") {
		t.Errorf("one point: %q", l)
	}
	if IdleOverhead(pts, "w") != "" {
		t.Error("IdleOverhead without idle figures is not empty")
	}
}
