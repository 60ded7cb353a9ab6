// Package wire holds what the server and the Go SDK must agree on beyond
// the protobuf messages: metadata keys, size limits, and the rule that maps
// a primary key to its shard. It imports nothing of raftvec, so the SDK
// stays light.
package wire

import "google.golang.org/grpc/codes"

// LeaderHintKey is the trailer that carries the leader's API address with
// a NotLeader error.
const LeaderHintKey = "raftvec-leader"

// MetaIndexKey carries a metadata-group index: in a response trailer, the
// index the answering node had applied; in a request, the index the
// receiver must apply before serving it. Clients echo the highest they have
// seen, so a collection or partition they created is known to whichever
// node their next request reaches.
const MetaIndexKey = "raftvec-meta-index"

// AuthorizationKey is the request metadata that carries credentials:
// base64 of "user:password", or of an API token. The Milvus SDKs send the
// same key in the same form.
const AuthorizationKey = "authorization"

// OnBehalfKey names the user a node acts for when it forwards that user's
// request to another node. Only a caller holding a node certificate may
// set it; from anyone else the request is refused.
const OnBehalfKey = "raftvec-on-behalf-of"

// Refused says whether a write that failed with code was refused before it
// could apply (so it did not), rather than ending with an unknown outcome.
// A write across shards with one part refused and another applied is
// partial: the server's fan-out and the SDK's direct path both judge it by
// this.
func Refused(code codes.Code) bool {
	switch code {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
		codes.OutOfRange, codes.PermissionDenied, codes.Unauthenticated:
		return true
	}
	return false
}

// MaxRequestBytes is the largest request the API accepts.
const MaxRequestBytes = 64 << 20

// ShardFor returns the position of the shard that owns a primary key among
// n shards: the key's 64-bit FNV-1a hash (of its 8 little-endian bytes, or
// of the string), scaled onto n, so each shard owns one contiguous range of
// the hash space. Rows live where this says: it must never change.
func ShardFor(intPK int64, strPK string, isInt bool, n int) int {
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * 1099511628211 }
	if isInt {
		for i := 0; i < 8; i++ {
			mix(byte(uint64(intPK) >> (8 * i)))
		}
	} else {
		for i := 0; i < len(strPK); i++ {
			mix(strPK[i])
		}
	}
	return int((h >> 32) * uint64(n) >> 32)
}
