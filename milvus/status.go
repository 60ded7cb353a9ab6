package milvus

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/raftvec/raftvec/rpc"
)

// Milvus error codes (merr) the SDKs understand. code is what Milvus 2.3+
// sets and the Go SDK checks; error_code is the legacy enum the Node SDK
// reads. Both are always set.
const (
	codeUnexpected        = 5
	codeCollectionMissing = 100
	codeIndexMissing      = 700
	codeDatabaseMissing   = 800
	codeParamInvalid      = 1100
	codeServiceNotReady   = 1
	codeTimeout           = 4
)

var okStatus = &commonpb.Status{Code: 0, ErrorCode: commonpb.ErrorCode_Success}

func success() *commonpb.Status { return okStatus }

// statusOf turns a request-layer error into a Milvus status. The reason
// keeps raftvec's message, which names the field and the limit.
func statusOf(err error) *commonpb.Status {
	if err == nil {
		return success()
	}
	st := rpc.Status(err)
	out := &commonpb.Status{Reason: st.Message(), Detail: st.Code().String(), ExtraInfo: map[string]string{"grpc_code": st.Code().String()}}
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		out.Code, out.ErrorCode = codeParamInvalid, commonpb.ErrorCode_IllegalArgument
	case codes.NotFound:
		out.Code, out.ErrorCode = codeCollectionMissing, commonpb.ErrorCode_CollectionNotExists
	case codes.Unavailable:
		out.Code, out.ErrorCode = codeServiceNotReady, commonpb.ErrorCode_NotReadyServe
		out.Retriable = true
	case codes.DeadlineExceeded:
		out.Code, out.ErrorCode = codeTimeout, commonpb.ErrorCode_UnexpectedError
		out.Retriable = true
	default:
		out.Code, out.ErrorCode = codeUnexpected, commonpb.ErrorCode_UnexpectedError
	}
	return out
}

// invalidf is bad input found by the adapter itself: a Milvus parameter
// that has no raftvec.v1 equivalent to reject it.
func invalidf(format string, args ...any) error {
	return status.Error(codes.InvalidArgument, fmt.Sprintf(format, args...))
}

// unsupported is a Milvus feature raftvec does not have.
func unsupported(what string) error {
	return status.Errorf(codes.InvalidArgument, "%s is not supported by raftvec (see docs/milvus-compatibility.md)", what)
}
