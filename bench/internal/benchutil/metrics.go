package benchutil

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ReadsServed returns, per node (HTTP address), its replicas'
// raftvec_shard_reads_served counters (reads answered from their own
// state), by series (level and role).
func ReadsServed(httpAddrs []string) ([]map[string]float64, error) {
	out := make([]map[string]float64, len(httpAddrs))
	for i, a := range httpAddrs {
		out[i] = map[string]float64{}
		err := ScrapeMetrics(a, func(line string) error {
			if !strings.HasPrefix(line, "raftvec_shard_reads_served{") {
				return nil
			}
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return fmt.Errorf("%s/metrics: %q: %w", a, line, err)
			}
			out[i][f[0]] += v
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScrapeMetrics calls each with every line of a node's /metrics (the
// Prometheus text format) at its HTTP address, until each fails.
func ScrapeMetrics(addr string, each func(line string) error) error {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := each(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ServedBetween is, per node, the reads served between two ReadsServed
// samples. The metrics sink drops a series that has not changed for a
// minute and starts it again from zero, so a series that went down counts
// from zero.
func ServedBetween(before, after []map[string]float64) []float64 {
	out := make([]float64, len(after))
	for i := range after {
		for k, v := range after[i] {
			if b := before[i][k]; v >= b {
				out[i] += v - b
			} else {
				out[i] += v
			}
		}
	}
	return out
}

// Shares formats per-node counts as percentages of their sum
// ("33% / 34% / 33%").
func Shares(counts []float64) string {
	var sum float64
	for _, c := range counts {
		sum += c
	}
	if sum == 0 {
		return "–"
	}
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%.0f%%", 100*c/sum)
	}
	return strings.Join(parts, " / ")
}
