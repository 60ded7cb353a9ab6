package fsm

import (
	"fmt"
	"log/slog"
	"strings"
)

// badgerLogger routes Badger's log through slog. Badger's info and debug
// lines are chatty (every compaction); they go to debug.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) { b.l.Error(msg(f, a)) }
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(msg(f, a))
}
func (b badgerLogger) Infof(f string, a ...any)  { b.l.Debug(msg(f, a)) }
func (b badgerLogger) Debugf(f string, a ...any) { b.l.Debug(msg(f, a)) }

func msg(f string, a []any) string {
	return "badger: " + strings.TrimSpace(fmt.Sprintf(f, a...))
}
