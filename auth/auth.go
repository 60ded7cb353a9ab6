// Package auth authenticates the callers of a node's gRPC listeners and
// decides what they may do. Users, roles and tokens live in the metadata
// group (fsm/auth.go), so every node decides a request the same way; this
// package reads them there and never stores a secret itself.
//
// A caller is one of:
//   - a user, by password or API token in the "authorization" metadata
//     (base64 of "user:password" or of the token: what the Milvus SDKs
//     send);
//   - a node, by its node certificate (mutual TLS). A node forwarding a
//     user's request names the user in "raftvec-on-behalf-of", and the
//     receiver decides as for that user; a node acting for itself (a
//     placement step, a read-index round) may do anything.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/wire"
)

// Password limits: bcrypt reads at most 72 bytes.
const (
	MinPassword = 8
	MaxPassword = 72
	MaxUserName = 64
)

// BcryptCost is the work factor of stored password hashes.
const BcryptCost = 10

// TokenPrefix starts every API token: "rvt_" + 16 hex id + 32 hex secret.
const TokenPrefix = "rvt_"

// Principal is an authenticated caller.
type Principal struct {
	// User is the user the request is decided for; empty for a node
	// acting for itself.
	User string
	// Node is the node certificate's name when a node made the call.
	Node string
}

func (p *Principal) String() string {
	switch {
	case p.User != "" && p.Node != "":
		return p.User + " (via node " + p.Node + ")"
	case p.User != "":
		return p.User
	}
	return "node " + p.Node
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller of a request, nil when authentication is
// off.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// Users is where identities are looked up: the metadata state machine.
type Users interface {
	Identity(user string) (fsm.Identity, bool)
	TokenOwner(id string) (user string, hash []byte, ok bool)
}

// Authenticator checks credentials. Verified passwords are remembered (as
// a SHA-256 of the password, next to the bcrypt hash they matched) so that
// SDKs that send the password on every request, as Milvus's do, pay for
// bcrypt once per user and password change, not per request.
type Authenticator struct {
	users Users

	mu       sync.Mutex
	verified map[string]verified
}

type verified struct {
	hash string   // the bcrypt hash at the time
	sum  [32]byte // SHA-256 of the password that matched it
}

// NewAuthenticator returns an authenticator over users.
func NewAuthenticator(users Users) *Authenticator {
	return &Authenticator{users: users, verified: map[string]verified{}}
}

func unauthenticated(format string, args ...any) error {
	return status.Errorf(codes.Unauthenticated, format, args...)
}

// Authenticate returns the caller of a request.
func (a *Authenticator) Authenticate(ctx context.Context) (*Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if node := nodeName(ctx); node != "" {
		p := &Principal{Node: node}
		if v := md.Get(wire.OnBehalfKey); len(v) > 0 && v[0] != "" {
			if _, ok := a.users.Identity(v[0]); !ok {
				return nil, unauthenticated("user %q (forwarded by node %s) does not exist", v[0], node)
			}
			p.User = v[0]
		}
		return p, nil
	}
	if len(md.Get(wire.OnBehalfKey)) > 0 {
		return nil, status.Errorf(codes.PermissionDenied, "%s: only a node (with a node certificate) may act for another user", wire.OnBehalfKey)
	}
	v := md.Get(wire.AuthorizationKey)
	if len(v) == 0 || v[0] == "" {
		return nil, unauthenticated("no credentials: give a user and password (raftvec --user, or the SDK's user/password) or an API token ($RAFTVEC_TOKEN)")
	}
	raw := strings.TrimPrefix(strings.TrimPrefix(v[0], "Basic "), "Bearer ")
	dec, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, unauthenticated("authorization: not base64 of user:password or of a token")
	}
	cred := string(dec)
	if strings.HasPrefix(cred, TokenPrefix) && !strings.Contains(cred, ":") {
		return a.token(cred)
	}
	user, password, ok := strings.Cut(cred, ":")
	if !ok || user == "" {
		return nil, unauthenticated("authorization: not user:password or a token")
	}
	if err := a.checkPassword(user, password); err != nil {
		return nil, err
	}
	return &Principal{User: user}, nil
}

// errBadLogin is the one answer to a wrong user or a wrong password, so
// that the two cannot be told apart.
var errBadLogin = unauthenticated("wrong user name or password")

func (a *Authenticator) checkPassword(user, password string) error {
	id, ok := a.users.Identity(user)
	if !ok {
		return errBadLogin
	}
	sum := sha256.Sum256([]byte(password))
	a.mu.Lock()
	v, hit := a.verified[user]
	a.mu.Unlock()
	if hit && v.hash == string(id.Hash) && subtle.ConstantTimeCompare(v.sum[:], sum[:]) == 1 {
		return nil
	}
	if bcrypt.CompareHashAndPassword(id.Hash, []byte(password)) != nil {
		return errBadLogin
	}
	a.mu.Lock()
	a.verified[user] = verified{hash: string(id.Hash), sum: sum}
	a.mu.Unlock()
	return nil
}

func (a *Authenticator) token(tok string) (*Principal, error) {
	id, secret, err := splitToken(tok)
	if err != nil {
		return nil, unauthenticated("%v", err)
	}
	user, hash, ok := a.users.TokenOwner(id)
	sum := sha256.Sum256([]byte(secret))
	if !ok || subtle.ConstantTimeCompare(hash, sum[:]) != 1 {
		return nil, unauthenticated("unknown or revoked API token")
	}
	return &Principal{User: user}, nil
}

func splitToken(tok string) (id, secret string, err error) {
	body := strings.TrimPrefix(tok, TokenPrefix)
	if len(body) != 48 {
		return "", "", errors.New("authorization: malformed API token")
	}
	return body[:16], body[16:], nil
}

// NewToken returns a fresh token, its id and the hash to store.
func NewToken(random func([]byte) (int, error)) (token, id string, hash []byte, err error) {
	var b [24]byte
	if _, err := random(b[:]); err != nil {
		return "", "", nil, err
	}
	h := hex.EncodeToString(b[:])
	id, secret := h[:16], h[16:]
	sum := sha256.Sum256([]byte(secret))
	return TokenPrefix + h, id, sum[:], nil
}

// nodeName is the name in a verified node certificate the caller
// presented, or "".
func nodeName(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 {
		return ""
	}
	leaf := ti.State.VerifiedChains[0][0]
	if !certs.IsNode(leaf) {
		return ""
	}
	return leaf.Subject.CommonName
}

// ValidPassword checks a new password against the limits.
func ValidPassword(field, password string) error {
	if n := len(password); n < MinPassword || n > MaxPassword {
		return fmt.Errorf("%w: %s: %d bytes; a password has %d to %d bytes", fsm.ErrInvalid, field, n, MinPassword, MaxPassword)
	}
	return nil
}

// HashPassword checks a new password against the limits and hashes it.
func HashPassword(field, password string) ([]byte, error) {
	if err := ValidPassword(field, password); err != nil {
		return nil, err
	}
	return bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
}

// Audit logs a change of the schema, users or roles on node, with the
// caller of ctx as who made it ("-" when authentication is off).
func Audit(ctx context.Context, node, op, collection string, err error) {
	who := "-"
	if p := FromContext(ctx); p != nil {
		who = p.String()
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	slog.InfoContext(ctx, "audit", "node", node, "who", who, "op", op, "collection", collection, "ok", err == nil, "err", msg)
}

// ValidName checks a user or role name.
func ValidName(field, name string) error {
	if name == "" || len(name) > MaxUserName {
		return fmt.Errorf("%w: %s: %q must have 1 to %d bytes", fsm.ErrInvalid, field, name, MaxUserName)
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: %s: %q may hold only letters, digits, '_', '-' and '.'", fsm.ErrInvalid, field, name)
		}
	}
	return nil
}

// Allow decides whether p holds privilege on collection. A node acting
// for itself holds every privilege; "" as the collection asks for a
// cluster-wide privilege (one granted on "*", or admin).
func (a *Authenticator) Allow(p *Principal, privilege, collection string) error {
	if p.User == "" && p.Node != "" {
		return nil
	}
	id, ok := a.users.Identity(p.User)
	if !ok {
		return unauthenticated("user %q does not exist", p.User)
	}
	c := collection
	if c == "" {
		c = fsm.AllCollections
	}
	if id.Allows(privilege, c) {
		return nil
	}
	if collection == "" {
		return status.Errorf(codes.PermissionDenied, "user %q lacks the %s privilege on the cluster", p.User, privilege)
	}
	return status.Errorf(codes.PermissionDenied, "user %q lacks the %s privilege on collection %q", p.User, privilege, collection)
}

// Unary authenticates every request and puts its Principal in the
// context. Methods under a prefix of rules need that privilege
// cluster-wide too ("" in rules: no authentication at all, e.g. gRPC
// health); the rest are decided by the request layer.
func (a *Authenticator) Unary(rules map[string]string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.admit(ctx, rules, info.FullMethod, "")
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream is Unary for streaming calls, by the same rules, except that a
// stream under none of them needs the admin privilege (gRPC reflection)
// unless it is under one of the request layer's prefixes (export).
func (a *Authenticator) Stream(rules map[string]string, requestLayer ...string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		unmatched := fsm.PrivAdmin
		for _, p := range requestLayer {
			if strings.HasPrefix(info.FullMethod, p) {
				unmatched = ""
			}
		}
		ctx, err := a.admit(ss.Context(), rules, info.FullMethod, unmatched)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

// admit authenticates a call to method and checks the privilege its rule
// needs (unmatched when no rule names it; "" for none); the context it
// returns carries the Principal.
func (a *Authenticator) admit(ctx context.Context, rules map[string]string, method, unmatched string) (context.Context, error) {
	need, ruled := unmatched, false
	for prefix, priv := range rules {
		if strings.HasPrefix(method, prefix) {
			need, ruled = priv, true
			break
		}
	}
	if ruled && need == "" {
		return ctx, nil
	}
	p, err := a.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if need != "" {
		if err := a.Allow(p, need, ""); err != nil {
			return nil, err
		}
	}
	return NewContext(ctx, p), nil
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }
