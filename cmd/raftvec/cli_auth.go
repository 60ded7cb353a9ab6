package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
	"google.golang.org/grpc"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// The user and role commands: thin calls of the Auth service.

const newPasswordEnv = "RAFTVEC_NEW_PASSWORD"

func authCommands() map[string]clientCommand {
	return map[string]clientCommand{
		"user create": {usage: "user create NAME", about: "Creates a user. The password comes from --new-password-file, $" + newPasswordEnv + " or a prompt; " +
			"it has 8 to 72 bytes. A new user holds no role: grant one with raftvec role grant ROLE --member NAME.", run: runUserCreate},
		"user drop":   {usage: "user drop NAME", about: "Drops a user and its API tokens (root cannot be dropped).", run: runUserSimple},
		"user passwd": {usage: "user passwd NAME", about: "Sets a user's password (new one as for user create). An admin sets anyone's; a user changes their own, authenticating with the old one (--password).", run: runUserPasswd},
		"user list":   {usage: "user list", about: "Lists the users, their roles and how many API tokens each has.", run: runUserList},
		"user token":  {usage: "user token NAME", about: "Makes an API token for a user and prints it once (only its hash is kept). Use it as $" + tokenEnv + ".", run: runUserSimple},
		"user whoami": {usage: "user whoami", about: "Shows who the credentials given authenticate as, and their privileges.", run: runWhoAmI},
		"role create": {usage: "role create NAME", about: "Creates a role with no privileges.", run: runRoleSimple},
		"role drop":   {usage: "role drop NAME", about: "Drops a role and takes it from every user.", run: runRoleSimple},
		"role grant": {usage: "role grant ROLE PRIVILEGE [--collection C] | role grant ROLE --member U",
			about: "Gives a role a privilege (read, write, manage or admin) on collection C (default \"*\", every collection), or gives a user the role. " +
				"read: search, query, get, describe. write: insert, upsert, delete, flush. manage: create and drop the collection, its indexes and partitions, compact. " +
				"admin: everything, cluster-wide (the built-in role admin holds it).", run: runRoleGrant},
		"role revoke": {usage: "role revoke ROLE PRIVILEGE [--collection C] | role revoke ROLE --member U", about: "Takes back what role grant gave.", run: runRoleGrant},
		"role list":   {usage: "role list", about: "Lists the roles and their privileges.", run: runRoleList},
	}
}

// newPassword reads a new password from a file, the environment or a
// terminal prompt.
func (e *cliEnv) newPassword(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--new-password-file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if p := e.getenv(newPasswordEnv); p != "" {
		return p, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("new password: give --new-password-file or $" + newPasswordEnv + " (no terminal to ask on)")
	}
	fmt.Fprint(e.stderr, "new password: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	return string(b), err
}

// authCall dials, runs one Auth call and maps its error.
func authCall[T any](e *cliEnv, cf *commonFlags, f func(pb.AuthClient, context.Context, ...grpc.CallOption) (T, error)) (T, error) {
	var zero T
	c, err := e.dial(cf)
	if err != nil {
		return zero, err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	out, err := client.Auth(ctx, c, f)
	return out, apiErr(err, cf)
}

func runUserCreate(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	file := fs.String("new-password-file", "", "file holding the new user's password")
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	pw, err := e.newPassword(*file)
	if err != nil {
		return err
	}
	if _, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		return a.CreateUser(ctx, &pb.CreateUserRequest{Name: pos[0], Password: pw}, o...)
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created user %s\n", pos[0])
	return nil
}

func runUserPasswd(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	file := fs.String("new-password-file", "", "file holding the new password")
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	pw, err := e.newPassword(*file)
	if err != nil {
		return err
	}
	if _, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		return a.UpdatePassword(ctx, &pb.UpdatePasswordRequest{Name: pos[0], OldPassword: cf.password, NewPassword: pw}, o...)
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "changed the password of %s\n", pos[0])
	return nil
}

// runUserSimple runs user drop and user token.
func runUserSimple(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	req := &pb.UserRequest{Name: pos[0]}
	if name == "user token" {
		r, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.CreateTokenResponse, error) {
			return a.CreateToken(ctx, req, o...)
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, r.Token)
		return nil
	}
	if _, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		return a.DropUser(ctx, req, o...)
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "dropped user %s\n", pos[0])
	return nil
}

func runUserList(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	if _, err := e.parseFlags(fs, name, args); err != nil {
		return err
	}
	r, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.ListUsersResponse, error) {
		return a.ListUsers(ctx, &pb.ListUsersRequest{}, o...)
	})
	if err != nil {
		return err
	}
	if cf.json {
		return e.printJSON(r)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tROLES\tTOKENS")
	for _, u := range r.Users {
		fmt.Fprintf(w, "%s\t%s\t%d\n", u.Name, dash(strings.Join(u.Roles, ",")), u.Tokens)
	}
	return w.Flush()
}

func runWhoAmI(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	if _, err := e.parseFlags(fs, name, args); err != nil {
		return err
	}
	r, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.WhoAmIResponse, error) {
		return a.WhoAmI(ctx, &pb.WhoAmIRequest{}, o...)
	})
	if err != nil {
		return err
	}
	if cf.json {
		return e.printJSON(r)
	}
	fmt.Fprintf(e.stdout, "user %s; roles %s; privileges %s\n", r.User, dash(strings.Join(r.Roles, ",")), dash(formatGrants(r.Grants)))
	return nil
}

func formatGrants(gs []*pb.Grant) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, g.Privilege+" on "+g.Collection)
	}
	return strings.Join(parts, ", ")
}

// runRoleSimple runs role create and role drop.
func runRoleSimple(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	req := &pb.RoleRequest{Name: pos[0]}
	verb := "created"
	if _, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		if name == "role drop" {
			verb = "dropped"
			return a.DropRole(ctx, req, o...)
		}
		return a.CreateRole(ctx, req, o...)
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s role %s\n", verb, pos[0])
	return nil
}

// runRoleGrant runs role grant and role revoke.
func runRoleGrant(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	coll := fs.String("collection", "*", "collection the privilege is on (\"*\": every collection)")
	user := fs.String("member", "", "give the role to (or take it from) this user instead")
	revoke := name == "role revoke"
	want := []string{"ROLE", "PRIVILEGE"}
	if flagGiven(args, "member") {
		want = want[:1]
	}
	pos, err := e.parseFlags(fs, name, args, want...)
	if err != nil {
		return err
	}
	var msg string
	_, err = authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		if *user != "" {
			req := &pb.UserRoleRequest{User: *user, Role: pos[0]}
			if revoke {
				msg = fmt.Sprintf("took role %s from user %s", pos[0], *user)
				return a.RevokeRole(ctx, req, o...)
			}
			msg = fmt.Sprintf("gave role %s to user %s", pos[0], *user)
			return a.GrantRole(ctx, req, o...)
		}
		req := &pb.PrivilegeRequest{Role: pos[0], Privilege: strings.ToLower(pos[1]), Collection: *coll}
		if revoke {
			msg = fmt.Sprintf("revoked %s on %s from role %s", req.Privilege, *coll, pos[0])
			return a.RevokePrivilege(ctx, req, o...)
		}
		msg = fmt.Sprintf("granted %s on %s to role %s", req.Privilege, *coll, pos[0])
		return a.GrantPrivilege(ctx, req, o...)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, msg)
	return nil
}

// flagGiven says whether --name appears among args.
func flagGiven(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name || a == "-"+name || strings.HasPrefix(a, "--"+name+"=") || strings.HasPrefix(a, "-"+name+"=") {
			return true
		}
	}
	return false
}

func runRoleList(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	if _, err := e.parseFlags(fs, name, args); err != nil {
		return err
	}
	r, err := authCall(e, cf, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.ListRolesResponse, error) {
		return a.ListRoles(ctx, &pb.ListRolesRequest{}, o...)
	})
	if err != nil {
		return err
	}
	if cf.json {
		return e.printJSON(r)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ROLE\tPRIVILEGES")
	for _, role := range r.Roles {
		fmt.Fprintf(w, "%s\t%s\n", role.Name, dash(formatGrants(role.Grants)))
	}
	return w.Flush()
}
