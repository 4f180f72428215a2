package iam

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openhss/openhss/internal/inventory"
)

// maxTokenRequest bounds a POST /v3/auth/tokens body: a real one is a few
// hundred bytes.
const maxTokenRequest = 64 << 10

// keystoneTime is how Keystone (and Huawei IAM) write expires_at/issued_at.
const keystoneTime = "2006-01-02T15:04:05.000000Z"

// tokenRequest is the part of a Keystone v3 password-method request openhss
// reads; other fields are ignored as Keystone ignores them.
type tokenRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					Password string `json:"password"`
					Domain   *struct {
						ID   string `json:"id"`
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope *struct {
			Project *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

// IssueToken handles a POST /v3/auth/tokens body in Keystone v3 shape:
//
//	{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":N,"password":P,"domain":{"name":D}}}},
//	         "scope":{"project":{"id":ID}}}}    (or "project":{"name":REGION})
//
// The user's domain is accepted and ignored: openhss has no domains, a user
// belongs to one project. A project scoped by name must be named after the
// region (every project is), and the user name must then be unique across
// projects. A malformed body wraps ErrBadRequest (400); an unknown user, a
// wrong password or an unknown project wraps ErrUnauthenticated (401).
//
// It returns the token (shown once; only its SHA-256 is stored), the stored
// token record and the user, for TokenBody.
func (s *Service) IssueToken(ctx context.Context, body []byte) (token string, tok inventory.Token, user inventory.User, err error) {
	name, password, scopeID, scopeName, err := parseTokenRequest(body)
	if err != nil {
		return "", inventory.Token{}, inventory.User{}, err
	}
	return s.signInUser(ctx, name, password, scopeID, scopeName)
}

// SignIn is the web console's sign-in (docs/console.md): the password check
// of POST /v3/auth/tokens — its failure budget, bounded bcrypt, dummy hash
// for unknown names — scoped by the region's name, so a user name must be
// unique across projects. The session is the token it issues: stored by
// hash, shared by every server on the store, revoked by RevokeToken.
func (s *Service) SignIn(ctx context.Context, name, password string) (token string, tok inventory.Token, user inventory.User, err error) {
	if name == "" || password == "" {
		return "", inventory.Token{}, inventory.User{}, unauthenticated("user name and password are required")
	}
	if len(name) > maxTokenRequest || len(password) > maxTokenRequest {
		return "", inventory.Token{}, inventory.User{}, fmt.Errorf("%w: user name or password too long", ErrBadRequest)
	}
	return s.signInUser(ctx, name, password, "", s.opts.Region)
}

// signInUser checks a user's password and issues a token.
func (s *Service) signInUser(ctx context.Context, name, password, scopeID, scopeName string) (token string, tok inventory.Token, user inventory.User, err error) {
	// The failure budget is the name's, whatever address the guesses come
	// from; a token is taken before the password check so that concurrent
	// guesses cannot overrun it. Keyed by hash: the name is the client's
	// and unbounded in length.
	key := sha256Hex([]byte(name))
	if err := s.signIn.takeFailure(ctx, key); err != nil {
		return "", inventory.Token{}, inventory.User{}, err
	}
	user, err = s.findUser(ctx, name, scopeID, scopeName)
	known := err == nil
	if err != nil && !errors.Is(err, inventory.ErrNotFound) {
		s.signIn.refundFailure(ctx, key)
		return "", inventory.Token{}, inventory.User{}, err
	}
	// An unknown name is compared against a dummy hash so that it costs
	// (and is bounded) like a wrong password.
	hash := s.dummy()
	if known {
		hash = []byte(user.PasswordHash)
	}
	match, err := s.signIn.compare(ctx, s.opts.ComparePassword, hash, []byte(password))
	if err != nil {
		s.signIn.refundFailure(ctx, key)
		return "", inventory.Token{}, inventory.User{}, err
	}
	if !known || !match {
		return "", inventory.Token{}, inventory.User{}, unauthenticated("wrong user name or password")
	}
	s.signIn.succeeded(ctx, key)
	token, tok, err = s.issueToken(ctx, user)
	if err != nil {
		return "", inventory.Token{}, inventory.User{}, err
	}
	return token, tok, user, nil
}

// issueToken makes and stores a new token of user, valid for TokenTTL:
// the token is returned this once, only its SHA-256 is stored.
func (s *Service) issueToken(ctx context.Context, user inventory.User) (string, inventory.Token, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", inventory.Token{}, fmt.Errorf("iam: random: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.opts.Now()
	tok := inventory.Token{
		Hash:      sha256Hex([]byte(token)),
		UserID:    user.ID,
		ProjectID: user.ProjectID,
		Grant:     user.Grant,
		CreatedAt: inventory.Millis(now),
		ExpiresAt: inventory.Millis(now.Add(s.opts.TokenTTL)),
	}
	if err := s.store.CreateToken(ctx, tok); err != nil {
		return "", inventory.Token{}, fmt.Errorf("iam: store token: %w", err)
	}
	return token, tok, nil
}

func parseTokenRequest(body []byte) (name, password, scopeID, scopeName string, err error) {
	if len(body) > maxTokenRequest {
		return "", "", "", "", fmt.Errorf("%w: body larger than %d bytes", ErrBadRequest, maxTokenRequest)
	}
	var req tokenRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return "", "", "", "", fmt.Errorf("%w: body is not a JSON object", ErrBadRequest)
	}
	if dec.More() {
		return "", "", "", "", fmt.Errorf("%w: trailing data after the JSON object", ErrBadRequest)
	}
	bad := func(msg string) error { return fmt.Errorf("%w: %s", ErrBadRequest, msg) }
	a := req.Auth
	if a == nil || a.Identity == nil {
		return "", "", "", "", bad("auth.identity is required")
	}
	if len(a.Identity.Methods) != 1 || a.Identity.Methods[0] != "password" {
		return "", "", "", "", bad(`auth.identity.methods must be ["password"]`)
	}
	if a.Identity.Password == nil || a.Identity.Password.User == nil {
		return "", "", "", "", bad("auth.identity.password.user is required")
	}
	u := a.Identity.Password.User
	if u.Name == "" {
		return "", "", "", "", bad("auth.identity.password.user.name is required (user ids are not supported)")
	}
	if u.Password == "" {
		return "", "", "", "", bad("auth.identity.password.user.password is required")
	}
	if a.Scope == nil || a.Scope.Project == nil || (a.Scope.Project.ID == "" && a.Scope.Project.Name == "") {
		return "", "", "", "", bad("auth.scope.project with an id or a name is required")
	}
	return u.Name, u.Password, a.Scope.Project.ID, a.Scope.Project.Name, nil
}

// findUser resolves the user of a token request; ErrNotFound covers every
// "no such user here" case so the caller answers them alike.
func (s *Service) findUser(ctx context.Context, name, scopeID, scopeName string) (inventory.User, error) {
	if scopeID != "" {
		u, err := s.store.GetUserByName(ctx, scopeID, name)
		if err != nil && !errors.Is(err, inventory.ErrNotFound) {
			return inventory.User{}, fmt.Errorf("iam: look up user: %w", err)
		}
		if err == nil && scopeName != "" && scopeName != s.opts.Region {
			return inventory.User{}, inventory.ErrNotFound
		}
		return u, err
	}
	if scopeName != s.opts.Region {
		return inventory.User{}, inventory.ErrNotFound
	}
	users, err := s.store.FindUsersByName(ctx, name)
	if err != nil {
		return inventory.User{}, fmt.Errorf("iam: look up user: %w", err)
	}
	switch len(users) {
	case 0:
		return inventory.User{}, inventory.ErrNotFound
	case 1:
		return users[0], nil
	}
	return inventory.User{}, fmt.Errorf("%w: users named %q exist in several projects; scope the token by project id", ErrBadRequest, name)
}

// dummy returns the hash an unknown user name is compared against.
func (s *Service) dummy() []byte {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("openhss-no-such-user"), bcrypt.DefaultCost)
	})
	return s.dummyHash
}

// RevokeToken revokes an issued token (DELETE /v3/auth/tokens with
// X-Subject-Token). An unknown token wraps inventory.ErrNotFound.
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return fmt.Errorf("iam: revoke token: %w", inventory.ErrNotFound)
	}
	if err := s.store.RevokeToken(ctx, sha256Hex([]byte(token)), inventory.Millis(s.opts.Now())); err != nil {
		return fmt.Errorf("iam: revoke token: %w", err)
	}
	return nil
}

// Keystone token response shapes (the SDK's services/iam/v3 TokenResult).
type (
	keystoneRef struct {
		ID     string       `json:"id"`
		Name   string       `json:"name"`
		Domain *keystoneRef `json:"domain,omitempty"`
	}
	keystoneToken struct {
		ExpiresAt string        `json:"expires_at"`
		IssuedAt  string        `json:"issued_at"`
		Methods   []string      `json:"methods"`
		Catalog   []struct{}    `json:"catalog"`
		Roles     []keystoneRef `json:"roles"`
		Project   keystoneRef   `json:"project"`
		User      keystoneRef   `json:"user"`
	}
)

// TokenBody renders the 201 body of POST /v3/auth/tokens for a token made by
// IssueToken (the token itself goes in the X-Subject-Token header). The
// project is named after the region, and stands in as the domain.
func (s *Service) TokenBody(tok inventory.Token, user inventory.User) ([]byte, error) {
	domain := &keystoneRef{ID: tok.ProjectID, Name: tok.ProjectID}
	body := struct {
		Token keystoneToken `json:"token"`
	}{keystoneToken{
		ExpiresAt: time.UnixMilli(tok.ExpiresAt).UTC().Format(keystoneTime),
		IssuedAt:  time.UnixMilli(tok.CreatedAt).UTC().Format(keystoneTime),
		Methods:   []string{"password"},
		Catalog:   []struct{}{},
		Roles:     []keystoneRef{},
		Project:   keystoneRef{ID: tok.ProjectID, Name: s.opts.Region, Domain: domain},
		User:      keystoneRef{ID: strconv.FormatInt(user.ID, 10), Name: user.Name, Domain: domain},
	}}
	return json.Marshal(body)
}

// ProjectRef is one entry of GET /v3/projects: {"projects":[ProjectRef...]}.
type ProjectRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ProjectsForCaller answers GET /v3/projects?name=<name> for p: its own
// project, named after the region, when name is empty or the region; else
// none. The SDK, given a region but no project id, takes the single entry as
// its project id. Never nil, so it renders as [].
func (s *Service) ProjectsForCaller(p Principal, name string) []ProjectRef {
	if name != "" && name != s.opts.Region {
		return []ProjectRef{}
	}
	return []ProjectRef{{ID: p.ProjectID, Name: s.opts.Region}}
}
