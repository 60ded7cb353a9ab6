package expr

import "fmt"

// Limits on a filter expression. A filter arrives in a request, so each is
// bounded before any work proportional to it is done.
const (
	// MaxLength is the longest expression accepted, in bytes.
	MaxLength = 64 << 10
	// MaxDepth bounds nesting: parentheses, "not" and unary minus while
	// parsing, and the depth of the syntax tree (a chain of "and" or of "or"
	// counts as one level; a JSON path may have at most MaxDepth keys).
	MaxDepth = 128
	// MaxListLen is the largest number of elements in an "in" list.
	MaxListLen = 65536
)

// Error is a syntax or type error in a filter expression. Pos is the 1-based
// byte column in the expression where the problem was found; Msg says what
// was expected or which field and types are involved.
//
// The rpc layer maps *Error to INVALID_ARGUMENT; use errors.As to find it.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("position %d: %s", e.Pos, e.Msg)
}

func errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
