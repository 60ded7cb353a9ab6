package index

import "errors"

// Sentinel errors of the index package. Callers match them with errors.Is;
// the messages that wrap them name the field and the limit.
var (
	// ErrInvalidSpec wraps every Spec, BuildOptions and SearchParams
	// validation failure (an INVALID_ARGUMENT at the API boundary).
	ErrInvalidSpec = errors.New("invalid index spec")
	// ErrInvalidInput means the vectors handed to Build or Decode do not fit
	// the call: dim not positive, length not a multiple of dim, too many rows.
	ErrInvalidInput = errors.New("invalid index input")
	// ErrCorrupt means a serialised index is damaged, truncated, of an
	// unknown format version, or does not belong to the vectors it is
	// loaded with. Nothing is loaded; the caller rebuilds the index.
	ErrCorrupt = errors.New("corrupt index blob")
	// ErrUnsupported means the index cannot be encoded (an Index
	// implementation of another package).
	ErrUnsupported = errors.New("unsupported index")
)
