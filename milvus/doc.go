// Package milvus serves milvus.proto.milvus.MilvusService, so that
// applications written against the Milvus SDKs work with raftvec by changing
// an address.
//
// It is a thin adapter: every request is translated into the raftvec.v1
// request it means and handed to the same request layer (rpc.Server) that
// serves raftvec.v1, in process. Validation, routing, forwarding and shard
// fan-out therefore happen once, in rpc; this package only converts shapes
// (FieldData columns to rows, Milvus expressions and consistency levels to
// raftvec's) and errors (gRPC codes to Milvus statuses).
//
// Milvus's consistency levels map onto raftvec's (see levels.go);
// Session without a guarantee timestamp is read-your-writes per client
// connection, tracked across nodes by sessions.go.
package milvus
