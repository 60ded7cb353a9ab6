package fsm

import (
	"errors"
	"testing"
)

// TestAuthOps: the rules users and roles keep whatever node proposes them.
func TestAuthOps(t *testing.T) {
	m := NewMeta(nil)
	apply := func(op MetaOp) error {
		b, err := EncodeMetaOp(&op)
		if err != nil {
			t.Fatal(err)
		}
		idx, _ := m.Applied()
		out, _ := m.ApplyBatch(idx+1, [][]byte{b})
		if out[0] == nil {
			return nil
		}
		return out[0].(error)
	}
	must := func(op MetaOp) {
		t.Helper()
		if err := apply(op); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(what string, op MetaOp, want error) {
		t.Helper()
		if err := apply(op); !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}
	must(MetaOp{BootstrapRoot: &MetaUser{Name: RootUser, Hash: []byte("h1")}})
	must(MetaOp{BootstrapRoot: &MetaUser{Name: RootUser, Hash: []byte("h2")}}) // ignored: root exists
	if id, _ := m.Identity(RootUser); string(id.Hash) != "h1" || !id.Allows(PrivAdmin, AllCollections) {
		t.Fatalf("root after a second bootstrap: %+v", id)
	}
	must(MetaOp{CreateUser: &MetaUser{Name: "alice", Hash: []byte("a")}})
	refused("a user twice", MetaOp{CreateUser: &MetaUser{Name: "alice", Hash: []byte("b")}}, ErrAlreadyExists)
	must(MetaOp{CreateRole: "readers"})
	must(MetaOp{GrantPrivilege: &MetaGrant{Role: "readers", Grant: Grant{Privilege: PrivRead, Collection: "c"}}})
	refused("an unknown privilege", MetaOp{GrantPrivilege: &MetaGrant{Role: "readers", Grant: Grant{Privilege: "fly", Collection: "c"}}}, ErrInvalid)
	refused("changing the admin role", MetaOp{GrantPrivilege: &MetaGrant{Role: AdminRole, Grant: Grant{Privilege: PrivRead, Collection: "c"}}}, ErrInvalid)
	must(MetaOp{GrantRole: &MetaUserRole{User: "alice", Role: "readers"}})
	id, _ := m.Identity("alice")
	if !id.Allows(PrivRead, "c") || id.Allows(PrivRead, "d") || id.Allows(PrivWrite, "c") {
		t.Fatalf("alice's grants: %+v", id.Grants)
	}
	must(MetaOp{AddToken: &Token{ID: "t1", User: "alice", Hash: []byte("x")}})
	refused("dropping root", MetaOp{DropUser: RootUser}, ErrInvalid)
	refused("dropping the admin role", MetaOp{DropRole: AdminRole}, ErrInvalid)
	refused("taking admin from root", MetaOp{RevokeRole: &MetaUserRole{User: RootUser, Role: AdminRole}}, ErrInvalid)
	must(MetaOp{DropRole: "readers"})
	if id, _ := m.Identity("alice"); id.Allows(PrivRead, "c") {
		t.Fatal("a dropped role still grants")
	}
	must(MetaOp{DropUser: "alice"})
	if _, _, ok := m.TokenOwner("t1"); ok {
		t.Fatal("a dropped user's token still works")
	}
}
