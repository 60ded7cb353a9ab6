package milvus

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// rowsFromColumns turns Milvus insert columns into raftvec rows. Values are
// only reshaped here; the request layer validates them (types, ranges,
// lengths, dims, NaN) as it does for raftvec.v1.
//
// A nullable column may come compact (only the valid values, as the SDKs
// send it) or full-length with placeholders; valid_data says which rows
// hold a value in both cases.
func rowsFromColumns(c *collection, cols []*schemapb.FieldData, numRows int) (*pb.Rows, error) {
	rows := &pb.Rows{}
	seen := map[string]bool{}
	for _, fd := range cols {
		name := fd.GetFieldName()
		if fd.GetIsDynamic() {
			name = dynamicField
		}
		f, ok := c.byName[name]
		if !ok {
			if name == dynamicField {
				return nil, invalidf("fields_data: collection %q has no dynamic field; enable_dynamic_field was not set", c.schema.Name)
			}
			return nil, invalidf("fields_data: collection %q has no field %q", c.schema.Name, name)
		}
		if seen[name] {
			return nil, invalidf("fields_data: field %q is given twice", name)
		}
		seen[name] = true
		switch {
		case f.Type == pb.FieldType_FLOAT_VECTOR:
			fv := fd.GetVectors().GetFloatVector()
			if fv == nil {
				return nil, invalidf("field %q: expected float vector data, got %s", name, fd.GetType())
			}
			rows.Vectors = fv.GetData()
			if dim := fd.GetVectors().GetDim(); dim != 0 && dim != int64(f.Dim) {
				return nil, invalidf("field %q: dim %d does not match the collection's dim %d", name, dim, f.Dim)
			}
		case f.PrimaryKey:
			if ints := fd.GetScalars().GetLongData(); ints != nil {
				rows.IntIds = ints.GetData()
			} else if strs := fd.GetScalars().GetStringData(); strs != nil {
				rows.StrIds = strs.GetData()
			} else {
				return nil, invalidf("field %q: expected int64 or varchar primary keys, got %s", name, fd.GetType())
			}
		default:
			vals, err := scalarValues(f, fd, numRows)
			if err != nil {
				return nil, err
			}
			rows.Fields = append(rows.Fields, &pb.FieldColumn{Name: name, Values: vals})
		}
	}
	if !seen[c.pk.Name] && !c.pk.AutoId {
		return nil, invalidf("fields_data: the primary key field %q is missing (it is not auto_id)", c.pk.Name)
	}
	if !seen[c.vector.Name] {
		return nil, invalidf("fields_data: the vector field %q is missing", c.vector.Name)
	}
	return rows, nil
}

// scalarValues expands one Milvus scalar column into raftvec values; a nil
// Kind is null.
func scalarValues(f *pb.FieldSchema, fd *schemapb.FieldData, numRows int) ([]*pb.Value, error) {
	sc := fd.GetScalars()
	var n int
	var at func(i int) *pb.Value
	switch d := sc.GetData().(type) {
	case *schemapb.ScalarField_BoolData:
		n, at = len(d.BoolData.GetData()), func(i int) *pb.Value { return &pb.Value{Kind: &pb.Value_Bool{Bool: d.BoolData.Data[i]}} }
	case *schemapb.ScalarField_IntData:
		n, at = len(d.IntData.GetData()), func(i int) *pb.Value { return &pb.Value{Kind: &pb.Value_Int64{Int64: int64(d.IntData.Data[i])}} }
	case *schemapb.ScalarField_LongData:
		n, at = len(d.LongData.GetData()), func(i int) *pb.Value { return &pb.Value{Kind: &pb.Value_Int64{Int64: d.LongData.Data[i]}} }
	case *schemapb.ScalarField_FloatData:
		n, at = len(d.FloatData.GetData()), func(i int) *pb.Value {
			return &pb.Value{Kind: &pb.Value_Double{Double: float64(d.FloatData.Data[i])}}
		}
	case *schemapb.ScalarField_DoubleData:
		n, at = len(d.DoubleData.GetData()), func(i int) *pb.Value { return &pb.Value{Kind: &pb.Value_Double{Double: d.DoubleData.Data[i]}} }
	case *schemapb.ScalarField_StringData:
		n, at = len(d.StringData.GetData()), func(i int) *pb.Value { return &pb.Value{Kind: &pb.Value_Varchar{Varchar: d.StringData.Data[i]}} }
	case *schemapb.ScalarField_JsonData:
		n, at = len(d.JsonData.GetData()), func(i int) *pb.Value { return &pb.Value{Kind: &pb.Value_Json{Json: d.JsonData.Data[i]}} }
	case nil:
		return nil, invalidf("field %q: no values given", f.Name)
	default:
		return nil, invalidf("field %q: got %T values for a %s field", f.Name, d, f.Type)
	}
	valid := fd.GetValidData()
	if len(valid) == 0 {
		if numRows > 0 && n != numRows {
			return nil, invalidf("field %q: %d values for %d rows", f.Name, n, numRows)
		}
		out := make([]*pb.Value, n)
		for i := range out {
			out[i] = at(i)
		}
		return out, nil
	}
	if numRows > 0 && len(valid) != numRows {
		return nil, invalidf("field %q: valid_data has %d entries for %d rows", f.Name, len(valid), numRows)
	}
	nValid := 0
	for _, v := range valid {
		if v {
			nValid++
		}
	}
	compact := n == nValid && n != len(valid)
	if !compact && n != len(valid) {
		return nil, invalidf("field %q: %d values for %d rows of which %d are valid", f.Name, n, len(valid), nValid)
	}
	out := make([]*pb.Value, len(valid))
	j := 0
	for i, ok := range valid {
		if compact {
			if ok {
				out[i] = at(j)
				j++
			} else {
				out[i] = &pb.Value{}
			}
			continue
		}
		if ok {
			out[i] = at(i)
		} else {
			out[i] = &pb.Value{}
		}
	}
	return out, nil
}

// idsOf is a Milvus IDs message for int or string keys.
func idsOf(ints []int64, strs []string, varchar bool) *schemapb.IDs {
	if varchar {
		return &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: strs}}}
	}
	return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: ints}}}
}

// pkColumn is the primary-key column of a result.
func pkColumn(c *collection, ints []int64, strs []string) *schemapb.FieldData {
	fd := &schemapb.FieldData{FieldName: c.pk.Name, FieldId: c.ids[c.pk.Name], Type: typeFromRaftvec[c.pk.Type]}
	if c.pk.Type == pb.FieldType_VARCHAR {
		fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: strs}}}}
	} else {
		fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: ints}}}}
	}
	return fd
}

// scalarColumn builds a Milvus output column of field f from values (nil
// or an empty Kind is null): full length, with valid_data when the field
// is nullable.
func scalarColumn(c *collection, f *pb.FieldSchema, values []*pb.Value) *schemapb.FieldData {
	fd := &schemapb.FieldData{FieldName: f.Name, FieldId: c.ids[f.Name], Type: typeFromRaftvec[f.Type], IsDynamic: f.Dynamic}
	valid := make([]bool, len(values))
	for i, v := range values {
		valid[i] = v != nil && v.Kind != nil
	}
	var sf schemapb.ScalarField
	switch f.Type {
	case pb.FieldType_BOOL:
		sf.Data = &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: column(values, valid, (*pb.Value).GetBool)}}
	case pb.FieldType_INT8, pb.FieldType_INT16, pb.FieldType_INT32:
		sf.Data = &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: column(values, valid, func(v *pb.Value) int32 { return int32(v.GetInt64()) })}}
	case pb.FieldType_INT64:
		sf.Data = &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: column(values, valid, (*pb.Value).GetInt64)}}
	case pb.FieldType_FLOAT:
		sf.Data = &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: column(values, valid, func(v *pb.Value) float32 { return float32(v.GetDouble()) })}}
	case pb.FieldType_DOUBLE:
		sf.Data = &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: column(values, valid, (*pb.Value).GetDouble)}}
	case pb.FieldType_VARCHAR:
		sf.Data = &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: column(values, valid, (*pb.Value).GetVarchar)}}
	case pb.FieldType_JSON:
		d := column(values, valid, (*pb.Value).GetJson)
		if f.Dynamic {
			for i := range d {
				if !valid[i] {
					d[i] = []byte("{}") // a row without dynamic keys
				}
			}
		}
		sf.Data = &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: d}}
	}
	fd.Field = &schemapb.FieldData_Scalars{Scalars: &sf}
	if f.Nullable && !f.Dynamic {
		fd.ValidData = valid
	}
	return fd
}

// column is values read by get, with the zero value where a row is null.
func column[T any](values []*pb.Value, valid []bool, get func(*pb.Value) T) []T {
	out := make([]T, len(values))
	for i, v := range values {
		if valid[i] {
			out[i] = get(v)
		}
	}
	return out
}

// vectorColumn is the float-vector output column.
func vectorColumn(c *collection, data []float32) *schemapb.FieldData {
	f := c.vector
	return &schemapb.FieldData{FieldName: f.Name, FieldId: c.ids[f.Name], Type: schemapb.DataType_FloatVector,
		Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: int64(f.Dim),
			Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: data}}}}}
}

// decodeVector reads a hit's little-endian float32 vector.
func decodeVector(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// outputFields resolves a Milvus output_fields list: "*" is every field
// (the vector too, as Milvus 2.4+ does), names not in the schema are
// dynamic keys served from $meta. It returns the raftvec fields to fetch,
// whether the vector is wanted, and the names to report.
func outputFields(c *collection, names []string) (fields []string, vector bool, err error) {
	add := func(n string) {
		if !contains(fields, n) {
			fields = append(fields, n)
		}
	}
	for _, n := range names {
		switch {
		case n == "*":
			for _, f := range c.schema.Fields {
				switch {
				case f.PrimaryKey:
				case f.Type == pb.FieldType_FLOAT_VECTOR:
					vector = true
				default:
					add(f.Name)
				}
			}
		case n == c.pk.Name:
		case c.vector != nil && n == c.vector.Name:
			vector = true
		case c.byName[n] != nil:
			add(n)
		case c.dynamic:
			add(dynamicField)
		default:
			return nil, false, invalidf("output_fields: collection %q has no field %s", c.schema.Name, strconv.Quote(n))
		}
	}
	return fields, vector, nil
}
