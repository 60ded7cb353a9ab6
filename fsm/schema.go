package fsm

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
)

// Schema limits.
const (
	MaxNameLen      = 255
	MaxFields       = 64
	MaxDim          = 32768
	MaxVarCharLen   = 65535
	DefaultPKVarLen = 512
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// DynamicField is the name of the field that holds a row's keys not
// declared in the schema (Milvus's name for it).
const DynamicField = "$meta"

// IsInt reports whether t holds integers (int64 values of some width).
func IsInt(t fsmpb.FieldType) bool {
	switch t {
	case fsmpb.FieldType_INT8, fsmpb.FieldType_INT16, fsmpb.FieldType_INT32, fsmpb.FieldType_INT64:
		return true
	}
	return false
}

// IsFloat reports whether t holds floating-point numbers (double values).
func IsFloat(t fsmpb.FieldType) bool {
	return t == fsmpb.FieldType_FLOAT || t == fsmpb.FieldType_DOUBLE
}

// intRange is the range of values an integer field of type t accepts.
func intRange(t fsmpb.FieldType) (lo, hi int64) {
	switch t {
	case fsmpb.FieldType_INT8:
		return math.MinInt8, math.MaxInt8
	case fsmpb.FieldType_INT16:
		return math.MinInt16, math.MaxInt16
	case fsmpb.FieldType_INT32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// ValidateName checks a collection or field name.
func ValidateName(what, name string) error {
	if name == "" {
		return invalidf("%s: must not be empty", what)
	}
	if len(name) > MaxNameLen {
		return invalidf("%s %q: length %d exceeds the limit of %d", what, name, len(name), MaxNameLen)
	}
	if !nameRE.MatchString(name) {
		return invalidf("%s %q: must start with a letter or '_' and contain only letters, digits and '_'", what, name)
	}
	return nil
}

// Schema is a validated collection schema with its fields looked up.
type Schema struct {
	pb      *fsmpb.Schema
	PK      *fsmpb.Field
	Vector  *fsmpb.Field
	Scalars []*fsmpb.Field
	byName  map[string]*fsmpb.Field
	Metric  index.Metric
	Dim     int
}

// Proto returns the schema's protobuf form. Callers must not modify it.
func (s *Schema) Proto() *fsmpb.Schema { return s.pb }

// Field returns a field by name.
func (s *Schema) Field(name string) (*fsmpb.Field, bool) {
	f, ok := s.byName[name]
	return f, ok
}

// MetricFromProto converts the codec's metric to the index package's.
func MetricFromProto(m fsmpb.Metric) index.Metric {
	switch m {
	case fsmpb.Metric_L2:
		return index.L2
	case fsmpb.Metric_IP:
		return index.IP
	case fsmpb.Metric_COSINE:
		return index.Cosine
	}
	return index.MetricUnknown
}

// NewSchema validates pb and returns the schema. pb is kept, not copied.
func NewSchema(pb *fsmpb.Schema) (*Schema, error) {
	if pb == nil {
		return nil, invalidf("schema: missing")
	}
	if err := ValidateName("collection name", pb.Name); err != nil {
		return nil, err
	}
	if len(pb.Fields) > MaxFields {
		return nil, invalidf("schema.fields: %d fields exceed the limit of %d", len(pb.Fields), MaxFields)
	}
	s := &Schema{pb: pb, byName: make(map[string]*fsmpb.Field, len(pb.Fields))}
	for _, f := range pb.Fields {
		if f.Dynamic {
			if f.Name != DynamicField || f.Type != fsmpb.FieldType_JSON || !f.Nullable || f.PrimaryKey || f.DefaultValue != nil {
				return nil, invalidf("field %q: the dynamic field must be the nullable JSON field %q without a default", f.Name, DynamicField)
			}
		} else if err := ValidateName("field name", f.Name); err != nil {
			return nil, err
		}
		if _, dup := s.byName[f.Name]; dup {
			return nil, invalidf("schema.fields: field %q is declared twice", f.Name)
		}
		s.byName[f.Name] = f
		if err := validateField(f); err != nil {
			return nil, err
		}
		switch {
		case f.PrimaryKey:
			if s.PK != nil {
				return nil, invalidf("schema.fields: fields %q and %q are both primary keys; exactly one is allowed", s.PK.Name, f.Name)
			}
			s.PK = f
		case f.Type == fsmpb.FieldType_FLOAT_VECTOR:
			if s.Vector != nil {
				return nil, invalidf("schema.fields: fields %q and %q are both vectors; exactly one is allowed", s.Vector.Name, f.Name)
			}
			s.Vector = f
		default:
			s.Scalars = append(s.Scalars, f)
		}
	}
	if s.PK == nil {
		return nil, invalidf("schema.fields: no primary key field (one int64 or varchar field with primary_key)")
	}
	if s.Vector == nil {
		return nil, invalidf("schema.fields: no float_vector field")
	}
	switch {
	case pb.AutoIdStart != 0 && !s.PK.AutoId:
		return nil, invalidf("auto_id_start: only an auto_id primary key hands out ids (field %q is not auto_id)", s.PK.Name)
	case pb.AutoIdStart < 0 || pb.AutoIdStart > MaxAutoIDStart:
		return nil, invalidf("auto_id_start (%d) must be between 0 and %d", pb.AutoIdStart, MaxAutoIDStart)
	}
	s.Metric = MetricFromProto(s.Vector.Metric)
	s.Dim = int(s.Vector.Dim)
	return s, nil
}

// MaxAutoIDStart bounds auto_id_start, leaving 2^62 ids to hand out.
const MaxAutoIDStart = 1 << 62

func validateField(f *fsmpb.Field) error {
	switch f.Type {
	case fsmpb.FieldType_BOOL, fsmpb.FieldType_INT8, fsmpb.FieldType_INT16, fsmpb.FieldType_INT32, fsmpb.FieldType_INT64,
		fsmpb.FieldType_FLOAT, fsmpb.FieldType_DOUBLE, fsmpb.FieldType_JSON:
	case fsmpb.FieldType_VARCHAR:
		if f.MaxLength == 0 && f.PrimaryKey {
			f.MaxLength = DefaultPKVarLen
		}
		if f.MaxLength < 1 || f.MaxLength > MaxVarCharLen {
			return invalidf("field %q: max_length (%d) must be between 1 and %d", f.Name, f.MaxLength, MaxVarCharLen)
		}
	case fsmpb.FieldType_FLOAT_VECTOR:
		if f.Dim < 1 || f.Dim > MaxDim {
			return invalidf("field %q: dim (%d) must be between 1 and %d", f.Name, f.Dim, MaxDim)
		}
		if !MetricFromProto(f.Metric).Valid() {
			return invalidf("field %q: metric must be one of L2, IP, COSINE", f.Name)
		}
		if f.PrimaryKey || f.Nullable {
			return invalidf("field %q: a vector field cannot be a primary key or nullable", f.Name)
		}
	default:
		return invalidf("field %q: type must be one of bool, int8, int16, int32, int64, float, double, varchar, json, float_vector", f.Name)
	}
	if f.PrimaryKey {
		if f.Type != fsmpb.FieldType_INT64 && f.Type != fsmpb.FieldType_VARCHAR {
			return invalidf("field %q: a primary key must be int64 or varchar, not %s", f.Name, f.Type)
		}
		if f.Nullable {
			return invalidf("field %q: a primary key cannot be nullable", f.Name)
		}
	}
	if f.AutoId && !(f.PrimaryKey && f.Type == fsmpb.FieldType_INT64) {
		return invalidf("field %q: auto_id is only allowed on an int64 primary key", f.Name)
	}
	if f.DefaultValue != nil {
		if f.PrimaryKey || f.Type == fsmpb.FieldType_FLOAT_VECTOR {
			return invalidf("field %q: a primary key or vector field cannot have a default value", f.Name)
		}
		if err := checkValue(f, f.DefaultValue); err != nil {
			return fmt.Errorf("default value: %w", err)
		}
	}
	return nil
}

// SimpleSchema is the schema given by only a dimension and a metric: an int64
// primary key "id" and a vector field "vector".
func SimpleSchema(name string, dim uint32, metric fsmpb.Metric, autoID bool) *fsmpb.Schema {
	return &fsmpb.Schema{Name: name, Fields: []*fsmpb.Field{
		{Name: "id", Type: fsmpb.FieldType_INT64, PrimaryKey: true, AutoId: autoID},
		{Name: "vector", Type: fsmpb.FieldType_FLOAT_VECTOR, Dim: dim, Metric: metric},
	}}
}

// checkValue checks that a non-null value fits field f.
func checkValue(f *fsmpb.Field, v *fsmpb.Value) error {
	switch k := v.Kind.(type) {
	case *fsmpb.Value_Bool:
		if f.Type == fsmpb.FieldType_BOOL {
			return nil
		}
	case *fsmpb.Value_Int64:
		if IsInt(f.Type) {
			if lo, hi := intRange(f.Type); k.Int64 < lo || k.Int64 > hi {
				return invalidf("field %q: %d is out of range for %s (%d to %d)", f.Name, k.Int64, f.Type, lo, hi)
			}
			return nil
		}
	case *fsmpb.Value_Double:
		if IsFloat(f.Type) {
			if math.IsNaN(k.Double) || math.IsInf(k.Double, 0) {
				return invalidf("field %q: NaN and Inf are not allowed", f.Name)
			}
			if f.Type == fsmpb.FieldType_FLOAT && math.Abs(k.Double) > math.MaxFloat32 {
				return invalidf("field %q: %g is out of range for float (magnitude at most %g)", f.Name, k.Double, math.MaxFloat32)
			}
			return nil
		}
	case *fsmpb.Value_Varchar:
		if f.Type == fsmpb.FieldType_VARCHAR {
			if len(k.Varchar) > int(f.MaxLength) {
				return invalidf("field %q: length %d exceeds max_length %d", f.Name, len(k.Varchar), f.MaxLength)
			}
			return nil
		}
	case *fsmpb.Value_Json:
		if f.Type == fsmpb.FieldType_JSON {
			if !json.Valid(k.Json) {
				return invalidf("field %q: not valid JSON", f.Name)
			}
			if f.Dynamic && !isObject(k.Json) {
				return invalidf("field %q: the dynamic field holds a JSON object of keys, not %.20q", f.Name, k.Json)
			}
			return nil
		}
	}
	return invalidf("field %q: value of the wrong type for a %s field", f.Name, f.Type)
}

// isObject reports whether valid JSON text b is an object.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}
