package benchutil

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ParseInts parses a comma-separated list of positive integers.
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad value %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// FirstLine is the first line of cmd's output, or "unknown".
func FirstLine(cmd *exec.Cmd) string {
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// FmtDur formats a latency for the tables ("–" for none).
func FmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// Machine describes this machine: nproc, CPU model, memory, kernel, Go.
func Machine() string {
	var model, mem string
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				fs := strings.Fields(v)
				if kb, err := strconv.ParseFloat(fs[0], 64); err == nil {
					mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
				}
				break
			}
		}
		f.Close()
	}
	nproc := FirstLine(exec.Command("nproc"))
	kernel := FirstLine(exec.Command("uname", "-sr"))
	return fmt.Sprintf("`nproc` = %s, CPU: %s, memory: %s, %s, %s/%s, %s",
		nproc, orUnknown(model), orUnknown(mem), kernel, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// CommandLine is the `make target` invocation that reproduces this run:
// the flags set on the command line, except -raftvec and -out (which the
// Makefile passes), go into BENCH_ARGS.
func CommandLine(target string) string {
	var args []string
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "raftvec" || f.Name == "out" {
			return
		}
		args = append(args, "-"+f.Name+" "+f.Value.String())
	})
	if len(args) == 0 {
		return "make " + target
	}
	return fmt.Sprintf("make %s BENCH_ARGS='%s'", target, strings.Join(args, " "))
}

// WriteSection replaces the part of path from begin to end (both markers
// included; section must start with begin and end with end and a newline),
// or appends section when path has no begin marker. Everything else in
// the file is left as it is.
func WriteSection(path, begin, end, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	if s == "" {
		s = "# Benchmarks\n\n" + section
	} else if i := strings.Index(s, begin); i >= 0 {
		j := strings.Index(s[i:], end)
		if j < 0 {
			return fmt.Errorf("%s: %q without %q", path, begin, end)
		}
		rest := s[i+j+len(end):]
		rest = strings.TrimPrefix(rest, "\n")
		s = s[:i] + section + rest
	} else {
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += "\n" + section
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
