package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/wire"
)

type fakeUsers struct {
	ids    map[string]fsm.Identity
	tokens map[string]fsm.Token
}

func (f *fakeUsers) Identity(u string) (fsm.Identity, bool) { id, ok := f.ids[u]; return id, ok }
func (f *fakeUsers) TokenOwner(id string) (string, []byte, bool) {
	t, ok := f.tokens[id]
	return t.User, t.Hash, ok
}

func withAuth(value string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(wire.AuthorizationKey, base64.StdEncoding.EncodeToString([]byte(value))))
}

// TestAuthenticate: passwords and tokens; a changed password is checked
// afresh, not taken from the cache of verified passwords.
func TestAuthenticate(t *testing.T) {
	h1, _ := HashPassword("p", "first-password")
	users := &fakeUsers{ids: map[string]fsm.Identity{"alice": {Hash: h1}}, tokens: map[string]fsm.Token{}}
	a := NewAuthenticator(users)
	code := func(ctx context.Context) codes.Code {
		_, err := a.Authenticate(ctx)
		return status.Code(err)
	}
	for _, tc := range []struct {
		ctx  context.Context
		want codes.Code
	}{
		{context.Background(), codes.Unauthenticated},
		{withAuth("alice:first-password"), codes.OK},
		{withAuth("alice:first-password"), codes.OK}, // from the cache
		{withAuth("alice:wrong"), codes.Unauthenticated},
		{withAuth("bob:first-password"), codes.Unauthenticated},
		{withAuth("no colon"), codes.Unauthenticated},
	} {
		if got := code(tc.ctx); got != tc.want {
			t.Fatalf("got %v, want %v", got, tc.want)
		}
	}
	h2, _ := HashPassword("p", "second-password")
	users.ids["alice"] = fsm.Identity{Hash: h2}
	if got := code(withAuth("alice:first-password")); got != codes.Unauthenticated {
		t.Fatalf("the old password after a change: %v", got)
	}
	if got := code(withAuth("alice:second-password")); got != codes.OK {
		t.Fatalf("the new password: %v", got)
	}

	tok, id, hash, err := NewToken(rand.Read)
	if err != nil {
		t.Fatal(err)
	}
	users.tokens[id] = fsm.Token{ID: id, User: "alice", Hash: hash}
	if p, err := a.Authenticate(withAuth(tok)); err != nil || p.User != "alice" {
		t.Fatalf("token: %v, %v", p, err)
	}
	last := "0"
	if tok[len(tok)-1] == '0' {
		last = "1"
	}
	if got := code(withAuth(tok[:len(tok)-1] + last)); got != codes.Unauthenticated {
		t.Fatalf("a wrong token secret: %v", got)
	}
	delete(users.tokens, id)
	if got := code(withAuth(tok)); got != codes.Unauthenticated {
		t.Fatalf("a revoked token: %v", got)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(wire.OnBehalfKey, "alice"))
	if got := code(ctx); got != codes.PermissionDenied {
		t.Fatalf("on-behalf from a non-node: %v", got)
	}
	if _, err := HashPassword("password", "short"); err == nil {
		t.Fatal("a 5-byte password was accepted")
	}
}
