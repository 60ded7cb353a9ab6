package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Service implements the Auth API: users, roles and tokens. Changes are
// metadata ops, proposed through Propose (on the metadata leader,
// wherever it is); passwords are hashed here, before the op is proposed.
type Service struct {
	pb.UnimplementedAuthServer
	auth    *Authenticator // nil: authentication is off on this node
	state   func() fsm.MetaState
	propose func(context.Context, *fsm.MetaOp) error
	node    string
}

// NewService returns the Auth API of a node. a is nil when the node runs
// without authentication; every call then says so.
func NewService(a *Authenticator, node string, state func() fsm.MetaState, propose func(context.Context, *fsm.MetaOp) error) *Service {
	return &Service{auth: a, node: node, state: state, propose: propose}
}

func (s *Service) caller(ctx context.Context) (*Principal, error) {
	if s.auth == nil {
		return nil, status.Error(codes.FailedPrecondition, "authentication is off on this node: start the nodes with --auth (docs/security.md)")
	}
	p := FromContext(ctx)
	if p == nil {
		return nil, unauthenticated("no authenticated caller")
	}
	return p, nil
}

func (s *Service) admin(ctx context.Context) (*Principal, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	return p, s.auth.Allow(p, fsm.PrivAdmin, "")
}

// change proposes an op after the caller passed its check, and audits it.
func (s *Service) change(ctx context.Context, p *Principal, what string, op *fsm.MetaOp) (*pb.AuthResponse, error) {
	err := s.propose(ctx, op)
	Audit(ctx, s.node, what, "", err)
	if err != nil {
		return nil, err
	}
	return &pb.AuthResponse{}, nil
}

func (s *Service) CreateUser(ctx context.Context, r *pb.CreateUserRequest) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidName("name", r.GetName()); err != nil {
		return nil, err
	}
	h, err := HashPassword("password", r.GetPassword())
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, "CreateUser "+r.GetName(), &fsm.MetaOp{CreateUser: &fsm.MetaUser{Name: r.GetName(), Hash: h}})
}

func (s *Service) DropUser(ctx context.Context, r *pb.UserRequest) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	if r.GetName() == "" {
		return nil, fmt.Errorf("%w: name: must not be empty", fsm.ErrInvalid)
	}
	return s.change(ctx, p, "DropUser "+r.GetName(), &fsm.MetaOp{DropUser: r.GetName()})
}

// UpdatePassword: an admin sets anyone's; a user changes their own with
// the old password.
func (s *Service) UpdatePassword(ctx context.Context, r *pb.UpdatePasswordRequest) (*pb.AuthResponse, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if s.auth.Allow(p, fsm.PrivAdmin, "") != nil {
		if p.User != r.GetName() {
			return nil, status.Errorf(codes.PermissionDenied, "user %q may change only their own password", p.User)
		}
		if err := s.auth.checkPassword(p.User, r.GetOldPassword()); err != nil {
			return nil, unauthenticated("old_password: wrong password")
		}
	}
	h, err := HashPassword("new_password", r.GetNewPassword())
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, "UpdatePassword "+r.GetName(), &fsm.MetaOp{SetPassword: &fsm.MetaUser{Name: r.GetName(), Hash: h}})
}

func (s *Service) ListUsers(ctx context.Context, r *pb.ListUsersRequest) (*pb.ListUsersResponse, error) {
	if _, err := s.admin(ctx); err != nil {
		return nil, err
	}
	st := s.state()
	tokens := map[string]uint32{}
	for _, t := range st.Tokens {
		tokens[t.User]++
	}
	out := &pb.ListUsersResponse{}
	for _, u := range st.Users {
		out.Users = append(out.Users, &pb.UserInfo{Name: u.Name, Roles: u.Roles, Tokens: tokens[u.Name]})
	}
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].Name < out.Users[j].Name })
	return out, nil
}

func (s *Service) CreateRole(ctx context.Context, r *pb.RoleRequest) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidName("name", r.GetName()); err != nil {
		return nil, err
	}
	return s.change(ctx, p, "CreateRole "+r.GetName(), &fsm.MetaOp{CreateRole: r.GetName()})
}

func (s *Service) DropRole(ctx context.Context, r *pb.RoleRequest) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	if r.GetName() == "" {
		return nil, fmt.Errorf("%w: name: must not be empty", fsm.ErrInvalid)
	}
	return s.change(ctx, p, "DropRole "+r.GetName(), &fsm.MetaOp{DropRole: r.GetName()})
}

func (s *Service) grant(ctx context.Context, r *pb.PrivilegeRequest, revoke bool) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(fsm.Privileges, r.GetPrivilege()) {
		return nil, fmt.Errorf("%w: privilege: %q is not one of %v", fsm.ErrInvalid, r.GetPrivilege(), fsm.Privileges)
	}
	coll := r.GetCollection()
	if coll == "" || r.GetPrivilege() == fsm.PrivAdmin {
		coll = fsm.AllCollections
	}
	g := &fsm.MetaGrant{Role: r.GetRole(), Grant: fsm.Grant{Privilege: r.GetPrivilege(), Collection: coll}}
	what := fmt.Sprintf("GrantPrivilege %s %s on %s", r.GetRole(), r.GetPrivilege(), coll)
	if revoke {
		return s.change(ctx, p, "Revoke"+what[len("Grant"):], &fsm.MetaOp{RevokePrivilege: g})
	}
	return s.change(ctx, p, what, &fsm.MetaOp{GrantPrivilege: g})
}

func (s *Service) GrantPrivilege(ctx context.Context, r *pb.PrivilegeRequest) (*pb.AuthResponse, error) {
	return s.grant(ctx, r, false)
}

func (s *Service) RevokePrivilege(ctx context.Context, r *pb.PrivilegeRequest) (*pb.AuthResponse, error) {
	return s.grant(ctx, r, true)
}

func (s *Service) GrantRole(ctx context.Context, r *pb.UserRoleRequest) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, "GrantRole "+r.GetRole()+" to "+r.GetUser(), &fsm.MetaOp{GrantRole: &fsm.MetaUserRole{User: r.GetUser(), Role: r.GetRole()}})
}

func (s *Service) RevokeRole(ctx context.Context, r *pb.UserRoleRequest) (*pb.AuthResponse, error) {
	p, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, "RevokeRole "+r.GetRole()+" from "+r.GetUser(), &fsm.MetaOp{RevokeRole: &fsm.MetaUserRole{User: r.GetUser(), Role: r.GetRole()}})
}

func grantsPB(gs []fsm.Grant) []*pb.Grant {
	out := make([]*pb.Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, &pb.Grant{Privilege: g.Privilege, Collection: g.Collection})
	}
	return out
}

func (s *Service) ListRoles(ctx context.Context, r *pb.ListRolesRequest) (*pb.ListRolesResponse, error) {
	if _, err := s.admin(ctx); err != nil {
		return nil, err
	}
	out := &pb.ListRolesResponse{Roles: []*pb.RoleInfo{{Name: fsm.AdminRole,
		Grants: []*pb.Grant{{Privilege: fsm.PrivAdmin, Collection: fsm.AllCollections}}}}}
	st := s.state()
	names := make([]string, 0, len(st.Roles))
	for n := range st.Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.Roles = append(out.Roles, &pb.RoleInfo{Name: n, Grants: grantsPB(st.Roles[n].Grants)})
	}
	return out, nil
}

// CreateToken makes an API token for a user: an admin for anyone, a user
// for themselves. The token is shown once; only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, r *pb.UserRequest) (*pb.CreateTokenResponse, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.User != r.GetName() {
		if err := s.auth.Allow(p, fsm.PrivAdmin, ""); err != nil {
			return nil, err
		}
	}
	tok, id, hash, err := NewToken(rand.Read)
	if err != nil {
		return nil, err
	}
	op := &fsm.MetaOp{AddToken: &fsm.Token{ID: id, User: r.GetName(), Hash: hash, Created: time.Now().UnixMilli()}}
	if _, err := s.change(ctx, p, "CreateToken "+id+" for "+r.GetName(), op); err != nil {
		return nil, err
	}
	return &pb.CreateTokenResponse{Token: tok}, nil
}

func (s *Service) WhoAmI(ctx context.Context, r *pb.WhoAmIRequest) (*pb.WhoAmIResponse, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.WhoAmIResponse{User: p.User}
	if p.User == "" {
		out.User = p.String()
		return out, nil
	}
	st := s.state()
	if u, ok := st.Users[p.User]; ok {
		out.Roles = u.Roles
	}
	id, _ := s.auth.users.Identity(p.User)
	out.Grants = grantsPB(id.Grants)
	return out, nil
}

// Bootstrap makes the root user with password once, when the cluster has
// no users; a cluster that has them ignores it (the first proposal wins).
func Bootstrap(ctx context.Context, password string, propose func(context.Context, *fsm.MetaOp) error) error {
	h, err := HashPassword("root password", password)
	if err != nil {
		return err
	}
	return propose(ctx, &fsm.MetaOp{BootstrapRoot: &fsm.MetaUser{Name: fsm.RootUser, Hash: h}})
}
