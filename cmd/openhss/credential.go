package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/inventory"
)

// parseGrant reads --enterprise-projects: "all" or a comma-separated list.
func parseGrant(s string) (inventory.Grant, error) {
	s = strings.TrimSpace(s)
	if s == "all" || s == "all_granted_eps" {
		return inventory.Grant{All: true}, nil
	}
	ids := splitList(s)
	if len(ids) == 0 {
		return inventory.Grant{}, errors.New("--enterprise-projects: give \"all\" or a comma-separated list of ids")
	}
	return inventory.Grant{IDs: ids}, nil
}

func newCredentialCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "Manage AK/SK credentials"}

	var project, eps, desc string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an AK/SK credential (the secret key is shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			grant, err := parseGrant(eps)
			if err != nil {
				return err
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ak, sk, err := a.iam.CreateCredential(cmd.Context(), project, grant, desc)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.json {
				return printJSON(out, map[string]string{"project_id": project, "access_key": ak, "secret_key": sk})
			}
			fmt.Fprintf(out, "project_id: %s\naccess_key: %s\nsecret_key: %s\n(the secret key is shown only this once)\n", project, ak, sk)
			return nil
		},
	}
	create.Flags().StringVar(&project, "project", "", "project id (required)")
	create.Flags().StringVar(&eps, "enterprise-projects", "0", "enterprise projects granted: \"all\" or a comma-separated list")
	create.Flags().StringVar(&desc, "description", "", "free text kept with the credential")
	_ = create.MarkFlagRequired("project")

	var listProject string
	list := &cobra.Command{
		Use:   "list",
		Short: "List credentials (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			creds, err := a.iam.ListCredentials(cmd.Context(), listProject)
			if err != nil {
				return err
			}
			type row struct {
				AccessKey          string   `json:"access_key"`
				ProjectID          string   `json:"project_id"`
				EnterpriseProjects []string `json:"enterprise_projects"`
				Description        string   `json:"description"`
				CreatedAt          int64    `json:"created_at"`
				Revoked            bool     `json:"revoked"`
			}
			rows := make([]row, 0, len(creds))
			for _, c := range creds {
				eps := c.Grant.IDs
				if c.Grant.All {
					eps = []string{"all"}
				}
				rows = append(rows, row{c.AccessKey, c.ProjectID, eps, c.Description, c.CreatedAt, c.RevokedAt != 0})
			}
			out := cmd.OutOrStdout()
			if g.json {
				return printJSON(out, rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCESS KEY\tPROJECT\tENTERPRISE PROJECTS\tCREATED\tSTATE\tDESCRIPTION")
			for _, r := range rows {
				state := "active"
				if r.Revoked {
					state = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.AccessKey, r.ProjectID, strings.Join(r.EnterpriseProjects, ","),
					time.UnixMilli(r.CreatedAt).UTC().Format(time.RFC3339), state, r.Description)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listProject, "project", "", "only this project's credentials")

	revoke := &cobra.Command{
		Use:   "revoke ACCESS_KEY",
		Short: "Revoke a credential",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.iam.RevokeCredential(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, inventory.ErrNotFound) {
					return fmt.Errorf("no credential %s", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users that obtain tokens (POST /v3/auth/tokens)"}
	var name, project, eps, role string
	var fromStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; the password is read from standard input",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := stdinPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			grant, err := parseGrant(eps)
			if err != nil {
				return err
			}
			r, err := roleFlag(role)
			if err != nil {
				return err
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			u, err := a.iam.CreateUserWithRole(cmd.Context(), project, name, pw, grant, r)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": u.ID, "name": u.Name, "project_id": u.ProjectID, "role": u.Role})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s) in project %s\n", u.Name, u.Role, u.ProjectID)
			return nil
		},
	}
	userFlags(create, &project, &name)
	create.Flags().StringVar(&eps, "enterprise-projects", "0", "enterprise projects granted: \"all\" or a comma-separated list")
	create.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	// admin by default: scripts written before roles made users who could
	// do everything (docs/console.md, Roles).
	create.Flags().StringVar(&role, "role", string(inventory.RoleAdmin), "role: admin, operator or viewer")
	cmd.AddCommand(create, newUserSetRoleCmd(g), newUserSetPasswordCmd(g))
	return cmd
}

// roleFlag parses --role before anything is opened, so a typo fails with
// the flag's name rather than after the store has been opened.
func roleFlag(s string) (inventory.Role, error) {
	r, ok := inventory.ParseRole(s)
	if !ok {
		return "", fmt.Errorf("--role %q: must be admin, operator or viewer", s)
	}
	return r, nil
}

// newUserSetRoleCmd changes a user's role from the command line: the
// server's operator, so no "own role" rule, but the project keeps an admin
// (inventory.ErrLastAdmin). The user's sessions carry the new role from
// their next request (within 2 s on a running server: the token cache).
func newUserSetRoleCmd(g *globals) *cobra.Command {
	var name, project, role string
	cmd := &cobra.Command{
		Use:   "set-role",
		Short: "Change a user's role (admin, operator or viewer)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := roleFlag(role)
			if err != nil {
				return err
			}
			return g.withUser(cmd, project, name, func(a *app, u inventory.User) error {
				if err := a.iam.SetUserRole(cmd.Context(), project, u.ID, 0, r); err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"id": u.ID, "name": u.Name, "project_id": u.ProjectID, "role": r})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %s in project %s is now %s\n", u.Name, u.ProjectID, r)
				return nil
			})
		},
	}
	userFlags(cmd, &project, &name)
	cmd.Flags().StringVar(&role, "role", "", "the new role: admin, operator or viewer (required)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// newUserSetPasswordCmd sets a user's password from the command line, the
// server operator's reset (no current password): read from standard input
// with --password-stdin, as `user create`, never from an argument that ps
// would show. Every session and token of the user ends (within 2 s on a
// running server: the token cache).
func newUserSetPasswordCmd(g *globals) *cobra.Command {
	var name, project string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "set-password",
		Short: "Set a user's password, read from standard input; their sessions and tokens end",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := stdinPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			return g.withUser(cmd, project, name, func(a *app, u inventory.User) error {
				if err := a.iam.SetUserPassword(cmd.Context(), project, u.ID, 0, pw); err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"id": u.ID, "name": u.Name, "project_id": u.ProjectID, "tokens_revoked": true})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of user %s in project %s set; their sessions and tokens have ended\n", u.Name, u.ProjectID)
				return nil
			})
		},
	}
	userFlags(cmd, &project, &name)
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

// userFlags adds the --project and --name flags, both required, that name
// the user a `user` subcommand creates or changes.
func userFlags(cmd *cobra.Command, project, name *string) {
	cmd.Flags().StringVar(name, "name", "", "user name (required)")
	cmd.Flags().StringVar(project, "project", "", "project id (required)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("project")
}

// withUser opens the store, finds the user name of project and runs fn
// with them.
func (g *globals) withUser(cmd *cobra.Command, project, name string, fn func(a *app, u inventory.User) error) error {
	a, err := g.open(cmd.Context())
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.store.GetUserByName(cmd.Context(), project, name)
	if err != nil {
		return fmt.Errorf("user %s in project %s: %w", name, project, err)
	}
	return fn(a, u)
}

// stdinPassword is the password a `user` subcommand reads from standard
// input, only with --password-stdin (fromStdin): a flag or argument would
// show it to ps.
func stdinPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	if !fromStdin {
		return "", errors.New("give the password on standard input with --password-stdin")
	}
	return readSecretLine(cmd.InOrStdin())
}

// readSecretLine reads one line (a password) from r without echoing it anywhere.
func readSecretLine(r io.Reader) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty password on standard input")
	}
	return line, nil
}
