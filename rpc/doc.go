// Package rpc owns the public gRPC API (raftvec.v1, generated code in
// rpc/pb), the server that routes each request to the right shard replica
// (forwarding to the leader when this node cannot answer), the one table
// that maps errors to gRPC status codes, and the Go SDK in rpc/client.
package rpc
