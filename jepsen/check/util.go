package check

import (
	"strconv"
	"time"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// nanos formats a duration of the run.
func nanos(n int64) string { return time.Duration(n).String() }
