package benchutil

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

// Procs tracks every child process so that they are all killed on any exit
// path, including Ctrl-C.
type Procs struct {
	mu   sync.Mutex
	list []*exec.Cmd
}

// Start starts cmd in its own process group and tracks it.
func (p *Procs) Start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	p.list = append(p.list, cmd)
	return nil
}

// KillAll kills each child's process group and reaps it.
func (p *Procs) KillAll() {
	p.mu.Lock()
	list := p.list
	p.list = nil
	p.mu.Unlock()
	for _, c := range list {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}
	for _, c := range list {
		_ = c.Wait()
	}
}

// Run is one benchmark run: a temp dir for data and logs and the child
// processes started in it. Cleanup kills the children and removes the dir
// (unless keepLogs); it runs at most once, and also on SIGINT, SIGTERM and
// SIGHUP, after which the program exits with status 130.
type Run struct {
	Dir   string
	Procs *Procs

	name     string
	keepLogs bool
	once     sync.Once
	sig      chan os.Signal
}

// NewRun creates the temp dir (named after the program) and installs the
// signal handler. Callers defer r.Cleanup().
func NewRun(name string, keepLogs bool) (*Run, error) {
	tmp, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: tmp, Procs: &Procs{}, name: name, keepLogs: keepLogs, sig: make(chan os.Signal, 1)}
	signal.Notify(r.sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s, ok := <-r.sig
		if !ok {
			return
		}
		fmt.Fprintln(os.Stderr, name+": got", s, "- cleaning up")
		r.Cleanup()
		os.Exit(130)
	}()
	return r, nil
}

// Cleanup kills every child and removes (or keeps) the temp dir.
func (r *Run) Cleanup() {
	r.once.Do(func() {
		r.Procs.KillAll()
		if r.keepLogs {
			fmt.Fprintln(os.Stderr, r.name+": kept", r.Dir)
		} else {
			os.RemoveAll(r.Dir)
		}
	})
}
