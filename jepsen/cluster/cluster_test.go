package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeServer writes a script that stands in for the raftvec binary: it
// forks a child (to show that kills reach the whole process group), records
// its pid and the child's, and then sleeps, or exits at once with exit set.
func fakeServer(t *testing.T, exit bool) (bin, pidDir string) {
	t.Helper()
	dir := t.TempDir()
	pidDir = filepath.Join(dir, "pids")
	if err := os.Mkdir(pidDir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "sleep 600 &\necho $! > " + pidDir + "/$3.child\necho $$ > " + pidDir + "/$3\necho started $3\nwait\n"
	if exit {
		body = "echo dying $3\nexit 3\n"
	}
	bin = filepath.Join(dir, "raftvec")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, pidDir
}

func mustNew(t *testing.T, bin string, nodes int) *Cluster {
	t.Helper()
	c, err := New(Config{Binary: bin, Nodes: nodes, DataDir: t.TempDir(), LogDir: filepath.Join(t.TempDir(), "logs"), Args: []string{"--tick-interval", "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.TrimSpace(string(b)) != "" {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func alive(pid int) bool {
	// Signal 0 checks existence; a zombie still exists, so look at its state.
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func state(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

func itoa(n int) string { return strconv.Itoa(n) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNodesHaveDistinctStableAddresses(t *testing.T) {
	c := mustNew(t, "unused", 5)
	seen := map[string]bool{}
	for i, n := range c.Nodes() {
		if n.ID != "n"+itoa(i+1) {
			t.Fatalf("node %d has id %q", i, n.ID)
		}
		for _, a := range []string{n.APIAddr, n.RaftAddr} {
			if seen[a] || !strings.HasPrefix(a, "127.0.0.1:") {
				t.Fatalf("address %q reused or not on loopback", a)
			}
			seen[a] = true
		}
	}
	if !slices.Equal(c.IDs([]int{2, 0}), []string{"n3", "n1"}) {
		t.Fatalf("IDs = %v", c.IDs([]int{2, 0}))
	}
}

func TestKillRestartPauseResume(t *testing.T) {
	bin, pids := fakeServer(t, false)
	c := mustNew(t, bin, 2)
	if err := c.StartAll(); err != nil {
		t.Fatal(err)
	}
	pid, child := readPid(t, filepath.Join(pids, "n1")), readPid(t, filepath.Join(pids, "n1.child"))

	if err := c.Pause(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 stopped", func() bool { return state(pid) == "T" })
	if c.Running(0) || !slices.Equal(c.Up(), []int{1}) {
		t.Fatalf("a paused node counts as up: %v", c.Up())
	}
	if err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 continued", func() bool { return state(pid) == "S" || state(pid) == "R" })

	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 and its child gone", func() bool { return !alive(pid) && !alive(child) })
	if c.Running(0) {
		t.Fatal("a killed node counts as running")
	}
	os.Remove(filepath.Join(pids, "n1"))
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	if pid2 := readPid(t, filepath.Join(pids, "n1")); pid2 == pid || !alive(pid2) {
		t.Fatalf("restart: pid %d (was %d)", pid2, pid)
	}
	log, err := os.ReadFile(c.Node(0).LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "--- jepsen: starting n1"); n != 2 {
		t.Fatalf("log has %d start markers, want 2 (appended across restarts):\n%s", n, log)
	}
	if cr := c.Crashes(); len(cr) != 0 {
		t.Fatalf("harness kills reported as crashes: %v", cr)
	}

	other := readPid(t, filepath.Join(pids, "n2"))
	c.Close()
	if alive(other) {
		t.Fatal("Close left n2 running")
	}
}

func TestCrashIsReported(t *testing.T) {
	bin, _ := fakeServer(t, true)
	c := mustNew(t, bin, 1)
	if err := c.Start(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the crash to be noticed", func() bool { return len(c.Crashes()) == 1 })
	if cr := c.Crashes()[0]; !strings.Contains(cr, "n1 exited on its own") || !strings.Contains(cr, "exit status 3") {
		t.Fatalf("crash = %q", cr)
	}
	if c.Running(0) {
		t.Fatal("a crashed node counts as running")
	}
}

func TestValidate(t *testing.T) {
	for _, cfg := range []Config{
		{Nodes: 3, DataDir: "d", LogDir: "l"},
		{Binary: "b", Nodes: 0, DataDir: "d", LogDir: "l"},
		{Binary: "b", Nodes: 3, LogDir: "l"},
	} {
		if err := cfg.Validate(); err == nil {
			t.Fatalf("%+v accepted", cfg)
		}
	}
}
