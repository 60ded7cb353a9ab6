package expr

// FieldType is the type of a collection field as the filter language sees it.
type FieldType uint8

// Field types. FloatVector exists so that a reference to the vector field is
// reported as such instead of as an unknown field.
const (
	Bool FieldType = iota + 1
	Int64
	Double
	VarChar
	JSON
	FloatVector
)

func (t FieldType) String() string {
	switch t {
	case Bool:
		return "bool"
	case Int64:
		return "int64"
	case Double:
		return "double"
	case VarChar:
		return "varchar"
	case JSON:
		return "JSON"
	case FloatVector:
		return "float vector"
	}
	return "unknown type"
}

// Field describes one field of a collection.
//
// Nullable is informational: the evaluator trusts the null bitmap a segment
// returns for a field, whatever the schema says, so a bug elsewhere can make
// rows fail a filter but never makes a null pass a comparison. PrimaryKey
// marks the primary key; it is referenced by its name like any other field
// (for example "id in [1, 2, 3]") and read through Columns.Int64 or
// Columns.VarChar.
type Field struct {
	Name       string
	Type       FieldType
	Nullable   bool
	PrimaryKey bool
	// Dynamic marks the JSON field that holds the keys not declared in the
	// schema: an unknown name k in a filter reads Dynamic-field["k"].
	Dynamic bool
}

// Schema resolves field names for the type checker. Lookups are by exact,
// case-sensitive name. Check calls it only from the calling goroutine and
// does not keep it.
type Schema interface {
	Field(name string) (Field, bool)
}

// DynamicSchema is a Schema that may have a dynamic field (see
// Field.Dynamic).
type DynamicSchema interface {
	Schema
	DynamicField() (Field, bool)
}

// Fields is a Schema backed by a slice, for tests and small adapters.
type Fields []Field

// Field implements Schema.
func (fs Fields) Field(name string) (Field, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// DynamicField implements DynamicSchema.
func (fs Fields) DynamicField() (Field, bool) {
	for _, f := range fs {
		if f.Dynamic {
			return f, true
		}
	}
	return Field{}, false
}
