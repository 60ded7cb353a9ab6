package client

import (
	"context"
	"crypto/tls"
	"encoding/base64"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

// Option configures a Client.
type Option func(*Client)

// WithTLS connects over TLS with cfg (e.g. a RootCAs pool holding the
// cluster CA).
func WithTLS(cfg *tls.Config) Option {
	return func(c *Client) { c.creds = credentials.NewTLS(cfg) }
}

// WithPassword authenticates every request as user with password, in the
// form the Milvus SDKs use too (metadata "authorization": base64 of
// "user:password"). It needs WithTLS: credentials are never sent in the
// clear.
func WithPassword(user, password string) Option {
	return func(c *Client) { c.auth = secret(base64.StdEncoding.EncodeToString([]byte(user + ":" + password))) }
}

// WithToken authenticates every request with an API token (raftvec user
// token create). It needs WithTLS.
func WithToken(token string) Option {
	return func(c *Client) { c.auth = secret(base64.StdEncoding.EncodeToString([]byte(token))) }
}

// secret is per-request credentials that require a TLS connection.
type secret string

func (s secret) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{wire.AuthorizationKey: string(s)}, nil
}

func (s secret) RequireTransportSecurity() bool { return true }

func (c *Client) dialOptions() []grpc.DialOption {
	creds := c.creds
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(2*wire.MaxRequestBytes), grpc.MaxCallSendMsgSize(2*wire.MaxRequestBytes))}
	if c.auth != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(c.auth))
	}
	return opts
}

// Auth calls the Auth service (users, roles, tokens) on the node the
// client prefers, following the client's retry rules.
func Auth[T any](ctx context.Context, c *Client, f func(pb.AuthClient, context.Context, ...grpc.CallOption) (T, error)) (T, error) {
	return call(ctx, c, func(_ pb.RaftVecClient, ctx context.Context, o ...grpc.CallOption) (T, error) {
		cc, err := c.conn(c.current())
		if err != nil {
			var zero T
			return zero, err
		}
		return f(pb.NewAuthClient(cc), ctx, o...)
	})
}

// Conn is the client's connection to the node at addr (with its TLS and
// credentials), for services the SDK does not wrap.
func (c *Client) Conn(addr string) (*grpc.ClientConn, error) { return c.conn(addr) }
