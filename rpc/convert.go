package rpc

import (
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

func valueToFSM(v *pb.Value) *fsmpb.Value {
	if v == nil || v.Kind == nil {
		return nil
	}
	switch k := v.Kind.(type) {
	case *pb.Value_Bool:
		return &fsmpb.Value{Kind: &fsmpb.Value_Bool{Bool: k.Bool}}
	case *pb.Value_Int64:
		return &fsmpb.Value{Kind: &fsmpb.Value_Int64{Int64: k.Int64}}
	case *pb.Value_Double:
		return &fsmpb.Value{Kind: &fsmpb.Value_Double{Double: k.Double}}
	case *pb.Value_Varchar:
		return &fsmpb.Value{Kind: &fsmpb.Value_Varchar{Varchar: k.Varchar}}
	case *pb.Value_Json:
		return &fsmpb.Value{Kind: &fsmpb.Value_Json{Json: k.Json}}
	}
	return nil
}

func valueFromFSM(v *fsmpb.Value) *pb.Value {
	if v == nil || v.Kind == nil {
		return &pb.Value{}
	}
	switch k := v.Kind.(type) {
	case *fsmpb.Value_Bool:
		return &pb.Value{Kind: &pb.Value_Bool{Bool: k.Bool}}
	case *fsmpb.Value_Int64:
		return &pb.Value{Kind: &pb.Value_Int64{Int64: k.Int64}}
	case *fsmpb.Value_Double:
		return &pb.Value{Kind: &pb.Value_Double{Double: k.Double}}
	case *fsmpb.Value_Varchar:
		return &pb.Value{Kind: &pb.Value_Varchar{Varchar: k.Varchar}}
	case *fsmpb.Value_Json:
		return &pb.Value{Kind: &pb.Value_Json{Json: k.Json}}
	}
	return &pb.Value{}
}

func schemaToFSM(s *pb.CollectionSchema) *fsmpb.Schema {
	out := &fsmpb.Schema{Name: s.GetName(), Description: s.GetDescription(), DefaultLevel: uint32(s.GetDefaultConsistency())}
	for _, f := range s.GetFields() {
		out.Fields = append(out.Fields, &fsmpb.Field{
			Name: f.Name, Type: fsmpb.FieldType(f.Type), PrimaryKey: f.PrimaryKey, AutoId: f.AutoId,
			Dim: f.Dim, Metric: fsmpb.Metric(f.Metric), MaxLength: f.MaxLength, Nullable: f.Nullable,
			DefaultValue: valueToFSM(f.DefaultValue), Dynamic: f.Dynamic,
		})
	}
	return out
}

func schemaFromFSM(s *fsmpb.Schema) *pb.CollectionSchema {
	out := &pb.CollectionSchema{Name: s.Name, Description: s.Description, DefaultConsistency: pb.ConsistencyLevel(s.DefaultLevel)}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, &pb.FieldSchema{
			Name: f.Name, Type: pb.FieldType(f.Type), PrimaryKey: f.PrimaryKey, AutoId: f.AutoId,
			Dim: f.Dim, Metric: pb.Metric(f.Metric), MaxLength: f.MaxLength, Nullable: f.Nullable,
			DefaultValue: defaultFromFSM(f.DefaultValue), Dynamic: f.Dynamic,
		})
	}
	return out
}

// rowsInput is an insert's rows as the shard validates them.
func rowsInput(req *pb.InsertRequest) fsm.RowsInput {
	r := req.GetRows()
	in := fsm.RowsInput{IntPKs: r.GetIntIds(), StrPKs: r.GetStrIds(), Vectors: r.GetVectors(), FromBackup: req.GetFromBackup()}
	for _, f := range r.GetFields() {
		fv := fsm.FieldValues{Name: f.Name, Values: make([]*fsmpb.Value, len(f.Values))}
		for i, v := range f.Values {
			fv.Values[i] = valueToFSM(v)
		}
		in.Fields = append(in.Fields, fv)
	}
	return in
}

// readOptions turns a request's read options into the shard's, with the
// collection's default level standing in for DEFAULT.
func readOptions(o *pb.ReadOptions, c *fsm.CollectionInfo) (shard.ReadOptions, error) {
	level := o.GetLevel()
	if level == pb.ConsistencyLevel_DEFAULT {
		if sc, err := c.SchemaProto(); err == nil {
			level = pb.ConsistencyLevel(sc.DefaultLevel)
		}
	}
	ro := shard.ReadOptions{
		MaxStaleness: msDuration(o.GetMaxStalenessMs()),
		SessionToken: o.GetSessionToken(),
		AsOf:         o.GetAsOfTs(),
	}
	switch level {
	case pb.ConsistencyLevel_DEFAULT, pb.ConsistencyLevel_STRONG:
		ro.Level = shard.Strong
	case pb.ConsistencyLevel_BOUNDED:
		ro.Level = shard.Bounded
	case pb.ConsistencyLevel_SESSION:
		ro.Level = shard.Session
	case pb.ConsistencyLevel_EVENTUAL:
		ro.Level = shard.Eventual
	default:
		return ro, invalid("read.level: %d is not a consistency level", level)
	}
	return ro, nil
}

func defaultFromFSM(v *fsmpb.Value) *pb.Value {
	if v == nil {
		return nil
	}
	return valueFromFSM(v)
}
