package fsm

import (
	"fmt"
	"slices"
	"sort"
)

// Users and roles live in the metadata group, so every node decides a
// request the same way. Passwords and tokens are stored only as hashes,
// made by the node that proposed the op: the log never holds a secret.

// Privileges a role may hold on a collection ("*": every collection).
// PrivAdmin is cluster-wide: the Admin service, users and roles, and every
// other privilege on every collection.
const (
	PrivRead   = "read"   // search, query, get, describe
	PrivWrite  = "write"  // insert, upsert, delete, flush
	PrivManage = "manage" // create and drop the collection, its indexes and partitions; compact
	PrivAdmin  = "admin"
)

// Privileges lists the privileges in order.
var Privileges = []string{PrivRead, PrivWrite, PrivManage, PrivAdmin}

// AllCollections in a grant means every collection, present and future.
const AllCollections = "*"

// Built-in names: the admin role (PrivAdmin on "*", cannot be changed or
// dropped) and the root user bootstrapped with it.
const (
	AdminRole = "admin"
	RootUser  = "root"
)

// User is an account. Hash is a bcrypt hash of the password.
type User struct {
	Name  string   `json:"name"`
	Hash  []byte   `json:"hash"`
	Roles []string `json:"roles,omitempty"`
}

// Role is a named set of grants.
type Role struct {
	Name   string  `json:"name"`
	Grants []Grant `json:"grants,omitempty"`
}

// Grant is one privilege on one collection (or AllCollections).
type Grant struct {
	Privilege  string `json:"privilege"`
	Collection string `json:"collection"`
}

// Token is an API token of a user; Hash is the SHA-256 of its secret.
type Token struct {
	ID      string `json:"id"`
	User    string `json:"user"`
	Hash    []byte `json:"hash"`
	Created int64  `json:"created"` // Unix ms, proposer's clock
}

// MetaUser creates a user or sets its password hash.
type MetaUser struct {
	Name string `json:"name"`
	Hash []byte `json:"hash"`
}

// MetaGrant adds or removes a grant of a role.
type MetaGrant struct {
	Role string `json:"role"`
	Grant
}

// MetaUserRole gives a role to a user or takes it away.
type MetaUserRole struct {
	User string `json:"user"`
	Role string `json:"role"`
}

// IsAuthOp says whether op changes users, roles or tokens.
func (op *MetaOp) IsAuthOp() bool {
	return op.BootstrapRoot != nil || op.CreateUser != nil || op.DropUser != "" || op.SetPassword != nil ||
		op.CreateRole != "" || op.DropRole != "" || op.GrantPrivilege != nil || op.RevokePrivilege != nil ||
		op.GrantRole != nil || op.RevokeRole != nil || op.AddToken != nil || op.DropToken != ""
}

func (st *MetaState) ensureAuth() {
	if st.Users == nil {
		st.Users = map[string]*User{}
	}
	if st.Roles == nil {
		st.Roles = map[string]*Role{}
	}
	if st.Tokens == nil {
		st.Tokens = map[string]*Token{}
	}
}

// applyAuth applies a user, role or token op.
func (st *MetaState) applyAuth(op *MetaOp) error {
	st.ensureAuth()
	switch {
	case op.BootstrapRoot != nil:
		if len(st.Users) > 0 {
			return nil // bootstrapped already: the first one wins
		}
		st.Users[RootUser] = &User{Name: RootUser, Hash: op.BootstrapRoot.Hash, Roles: []string{AdminRole}}
	case op.CreateUser != nil:
		if _, ok := st.Users[op.CreateUser.Name]; ok {
			return fmt.Errorf("%w: user %q", ErrAlreadyExists, op.CreateUser.Name)
		}
		st.Users[op.CreateUser.Name] = &User{Name: op.CreateUser.Name, Hash: op.CreateUser.Hash}
	case op.DropUser != "":
		if op.DropUser == RootUser {
			return invalidf("user: %q cannot be dropped", RootUser)
		}
		if _, ok := st.Users[op.DropUser]; !ok {
			return fmt.Errorf("%w: user %q", ErrNotFound, op.DropUser)
		}
		delete(st.Users, op.DropUser)
		for id, t := range st.Tokens {
			if t.User == op.DropUser {
				delete(st.Tokens, id)
			}
		}
	case op.SetPassword != nil:
		u, ok := st.Users[op.SetPassword.Name]
		if !ok {
			return fmt.Errorf("%w: user %q", ErrNotFound, op.SetPassword.Name)
		}
		u.Hash = op.SetPassword.Hash
	case op.CreateRole != "":
		if _, ok := st.Roles[op.CreateRole]; ok || op.CreateRole == AdminRole {
			return fmt.Errorf("%w: role %q", ErrAlreadyExists, op.CreateRole)
		}
		st.Roles[op.CreateRole] = &Role{Name: op.CreateRole}
	case op.DropRole != "":
		if op.DropRole == AdminRole {
			return invalidf("role: the built-in role %q cannot be dropped", AdminRole)
		}
		if _, ok := st.Roles[op.DropRole]; !ok {
			return fmt.Errorf("%w: role %q", ErrNotFound, op.DropRole)
		}
		delete(st.Roles, op.DropRole)
		for _, u := range st.Users {
			u.Roles = slices.DeleteFunc(u.Roles, func(r string) bool { return r == op.DropRole })
		}
	case op.GrantPrivilege != nil, op.RevokePrivilege != nil:
		g := op.GrantPrivilege
		if g == nil {
			g = op.RevokePrivilege
		}
		if g.Role == AdminRole {
			return invalidf("role: the built-in role %q cannot be changed", AdminRole)
		}
		r, ok := st.Roles[g.Role]
		if !ok {
			return fmt.Errorf("%w: role %q", ErrNotFound, g.Role)
		}
		if !slices.Contains(Privileges, g.Privilege) {
			return invalidf("privilege: %q is not one of %v", g.Privilege, Privileges)
		}
		if op.GrantPrivilege != nil {
			if !slices.Contains(r.Grants, g.Grant) {
				r.Grants = append(r.Grants, g.Grant)
			}
		} else {
			r.Grants = slices.DeleteFunc(r.Grants, func(x Grant) bool { return x == g.Grant })
		}
	case op.GrantRole != nil, op.RevokeRole != nil:
		ur := op.GrantRole
		if ur == nil {
			ur = op.RevokeRole
		}
		u, ok := st.Users[ur.User]
		if !ok {
			return fmt.Errorf("%w: user %q", ErrNotFound, ur.User)
		}
		if _, ok := st.Roles[ur.Role]; !ok && ur.Role != AdminRole {
			return fmt.Errorf("%w: role %q", ErrNotFound, ur.Role)
		}
		if op.GrantRole != nil {
			if !slices.Contains(u.Roles, ur.Role) {
				u.Roles = append(u.Roles, ur.Role)
				sort.Strings(u.Roles)
			}
		} else {
			if ur.User == RootUser && ur.Role == AdminRole {
				return invalidf("role: %q keeps the %q role", RootUser, AdminRole)
			}
			u.Roles = slices.DeleteFunc(u.Roles, func(r string) bool { return r == ur.Role })
		}
	case op.AddToken != nil:
		if _, ok := st.Users[op.AddToken.User]; !ok {
			return fmt.Errorf("%w: user %q", ErrNotFound, op.AddToken.User)
		}
		t := *op.AddToken
		st.Tokens[t.ID] = &t
	case op.DropToken != "":
		if _, ok := st.Tokens[op.DropToken]; !ok {
			return fmt.Errorf("%w: token %q", ErrNotFound, op.DropToken)
		}
		delete(st.Tokens, op.DropToken)
	}
	return nil
}

// Identity is what the request layer needs to decide a user's request.
type Identity struct {
	Hash   []byte  // the user's password hash
	Grants []Grant // of all the user's roles
}

// Allows says whether the grants hold privilege on collection.
func (id Identity) Allows(privilege, collection string) bool {
	for _, g := range id.Grants {
		if g.Privilege == PrivAdmin {
			return true
		}
		if g.Privilege == privilege && (g.Collection == AllCollections || g.Collection == collection) {
			return true
		}
	}
	return false
}

// Identity looks a user up without copying the metadata.
func (m *Meta) Identity(user string) (Identity, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.st.Users[user]
	if !ok {
		return Identity{}, false
	}
	id := Identity{Hash: u.Hash}
	for _, r := range u.Roles {
		if r == AdminRole {
			id.Grants = append(id.Grants, Grant{Privilege: PrivAdmin, Collection: AllCollections})
			continue
		}
		if role, ok := m.st.Roles[r]; ok {
			id.Grants = append(id.Grants, role.Grants...)
		}
	}
	return id, true
}

// TokenOwner returns the user and secret hash of a token.
func (m *Meta) TokenOwner(id string) (user string, hash []byte, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.st.Tokens[id]
	if !ok {
		return "", nil, false
	}
	return t.User, t.Hash, true
}

// HasUsers says whether any user exists (root has been bootstrapped).
func (m *Meta) HasUsers() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.st.Users) > 0
}
