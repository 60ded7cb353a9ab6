package milvus

import (
	"context"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// implemented reports, per MilvusService RPC, whether Server implements it:
// called with an empty request over a request layer that implements
// nothing, an implemented RPC answers with a Milvus status, an
// unimplemented one with the gRPC code UNIMPLEMENTED.
func implemented(t *testing.T) map[string]bool {
	s := NewServer(Config{API: pb.UnimplementedRaftVecServer{}, NodeID: "n1"})
	v := reflect.ValueOf(s)
	it := reflect.TypeOf((*milvuspb.MilvusServiceServer)(nil)).Elem()
	out := map[string]bool{}
	for i := range it.NumMethod() {
		m := it.Method(i)
		if !m.IsExported() {
			continue
		}
		if m.Type.NumIn() != 2 || m.Type.In(0) != reflect.TypeOf((*context.Context)(nil)).Elem() {
			out[m.Name] = false // a streaming RPC: none is implemented
			continue
		}
		req := reflect.New(m.Type.In(1).Elem())
		res := v.MethodByName(m.Name).Call([]reflect.Value{reflect.ValueOf(context.Background()), req})
		err, _ := res[1].Interface().(error)
		switch {
		case err == nil:
			out[m.Name] = true
		case status.Code(err) == codes.Unimplemented:
			out[m.Name] = false
		default:
			t.Errorf("%s: returned error %v; an implemented RPC reports errors in its Milvus status", m.Name, err)
		}
	}
	return out
}

var tableRow = regexp.MustCompile("^\\| `([A-Za-z0-9]+)` \\| (supported|partial|no) \\|")

// docs/milvus-compatibility.md lists every RPC, and says "no" exactly for
// those that answer UNIMPLEMENTED.
func TestCompatibilityTable(t *testing.T) {
	text, err := os.ReadFile("../docs/milvus-compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		if m := tableRow.FindStringSubmatch(line); m != nil {
			doc[m[1]] = m[2]
		}
	}
	impl := implemented(t)
	if len(impl) < 100 {
		t.Fatalf("found %d MilvusService RPCs; want all of them", len(impl))
	}
	n := 0
	for name, ok := range impl {
		st, listed := doc[name]
		switch {
		case !listed:
			t.Errorf("%s is not in the table", name)
		case ok && st == "no":
			t.Errorf("%s is implemented but the table says no", name)
		case !ok && st != "no":
			t.Errorf("%s answers UNIMPLEMENTED but the table says %s", name, st)
		}
		if ok {
			n++
		}
	}
	for name := range doc {
		if _, ok := impl[name]; !ok {
			t.Errorf("the table lists %s, which MilvusService does not have", name)
		}
	}
	if n < 30 {
		t.Errorf("only %d RPCs implemented", n)
	}
}
