package benchutil

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The CPU accounting below reads Linux's /proc; elsewhere the figures are
// zero. /proc counts in clock ticks of USER_HZ, which is 100 on every Linux
// architecture Go supports.
const userHZ = 100

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// ProcCPU is the user+system CPU time the process pid has used so far (0
// if it cannot be read, e.g. after the process was reaped).
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count fields after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14: utime
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15: stime
	if err1 != nil || err2 != nil {
		return 0
	}
	return ticks(ut + st)
}

// SelfCPU is the user+system CPU time this process has used so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the busy and total CPU time of the whole machine, summed
// over all CPUs (the "cpu" line of /proc/stat; iowait counts as idle).
func machineCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	var v [10]uint64
	for i := 1; i < len(f) && i <= len(v); i++ {
		v[i-1], _ = strconv.ParseUint(f[i], 10, 64)
	}
	// user nice system idle iowait irq softirq steal (guest time is
	// already counted in user and nice).
	idle := v[3] + v[4]
	b2 := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return ticks(b2), ticks(b2 + idle)
}

// CPU is the CPU time used so far by every child process p tracks (the
// servers it started; children already killed no longer count).
func (p *Procs) CPU() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sum time.Duration
	for _, c := range p.list {
		if c.Process != nil {
			sum += ProcCPU(c.Process.Pid)
		}
	}
	return sum
}

// CPUSample is a reading of the CPU time used so far by the tracked
// children, by this process and by the whole machine.
type CPUSample struct {
	at                  time.Time
	children, self      time.Duration
	machine, machineAll time.Duration
}

// SampleCPU reads the CPU counters now.
func (p *Procs) SampleCPU() CPUSample {
	s := CPUSample{at: time.Now(), children: p.CPU(), self: SelfCPU()}
	s.machine, s.machineAll = machineCPU()
	return s
}

// CPUUsage is the CPU time used between two samples.
type CPUUsage struct {
	Wall     time.Duration
	Children time.Duration // the tracked child processes (servers)
	Self     time.Duration // this process (the load generator)
	Busy     time.Duration // the whole machine, every process
	All      time.Duration // the whole machine's CPU time, busy or idle (≈ Wall × CPUs)
}

// Since is the CPU used from s0 to s.
func (s CPUSample) Since(s0 CPUSample) CPUUsage {
	return CPUUsage{Wall: s.at.Sub(s0.at), Children: s.children - s0.children, Self: s.self - s0.self,
		Busy: s.machine - s0.machine, All: s.machineAll - s0.machineAll}
}

// Cores is d expressed as CPUs kept busy over the interval.
func (u CPUUsage) Cores(d time.Duration) float64 {
	if u.Wall <= 0 {
		return 0
	}
	return d.Seconds() / u.Wall.Seconds()
}

// Others is the busy CPU time of every other process on the machine.
func (u CPUUsage) Others() time.Duration { return max(0, u.Busy-u.Children-u.Self) }

// BusyFrac is the fraction of the machine's CPU time that was busy (0
// when /proc/stat could not be read).
func (u CPUUsage) BusyFrac() float64 {
	if u.All <= 0 {
		return 0
	}
	return float64(u.Busy) / float64(u.All)
}

// MeasureIdle samples CPU use over d while the caller sends nothing: what
// the tracked servers spend on their own (Raft heartbeats, time ticks,
// background work).
func (p *Procs) MeasureIdle(d time.Duration) CPUUsage {
	s0 := p.SampleCPU()
	time.Sleep(d)
	return p.SampleCPU().Since(s0)
}
