package iam

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"

	"golang.org/x/crypto/bcrypt"

	"github.com/openhss/openhss/internal/inventory"
)

// checkPassword is the rule every new password meets, at creation, change
// and reset alike: MinPasswordLen to MaxPasswordLen bytes. The error never
// quotes the password.
func checkPassword(password string) error {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return fmt.Errorf("%w: password must be %d to %d bytes", ErrInvalid, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

func hashPassword(password string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("iam: hash password: %w", err)
	}
	return string(hash), nil
}

// projectUser returns the user id of projectID; ErrNotFound for a user of
// another project, or none.
func (s *Service) projectUser(ctx context.Context, projectID string, id int64) (inventory.User, error) {
	users, err := s.store.ListUsers(ctx, projectID)
	if err != nil {
		return inventory.User{}, fmt.Errorf("iam: list users of %s: %w", projectID, err)
	}
	i := slices.IndexFunc(users, func(u inventory.User) bool { return u.ID == id && u.ProjectID == projectID })
	if i < 0 {
		return inventory.User{}, fmt.Errorf("iam: user %d: %w", id, inventory.ErrNotFound)
	}
	return users[i], nil
}

// ChangePassword is a signed-in user's change of their own password
// (docs/security.md, Passwords): the user id of projectID gives current,
// checked as a sign-in checks it — the same failure budget of the user's
// name (a wrong one counts as a failed sign-in; past the budget
// ErrThrottled, without a check) and the same bounded bcrypt comparison —
// and next, which must meet the rule of CreateUser (ErrInvalid) and differ
// from current.
//
// On success every token of the user is revoked, the session that asked
// included, in the store transaction that replaces the hash, and a new
// token is issued and returned for that session to continue with: a copy
// of the old session cookie, wherever it is, dies with the old password.
// A wrong current password wraps ErrWrongPassword and changes nothing.
func (s *Service) ChangePassword(ctx context.Context, projectID string, id int64, current, next string) (token string, tok inventory.Token, err error) {
	// The new password is checked first: a refused one costs no bcrypt
	// time and no failure of the budget.
	if err := checkPassword(next); err != nil {
		return "", inventory.Token{}, err
	}
	if current == "" || len(current) > maxTokenRequest {
		return "", inventory.Token{}, fmt.Errorf("iam: change password of user %d: %w", id, ErrWrongPassword)
	}
	if subtle.ConstantTimeCompare([]byte(current), []byte(next)) == 1 {
		return "", inventory.Token{}, fmt.Errorf("%w: the new password must differ from the current one", ErrInvalid)
	}
	user, err := s.projectUser(ctx, projectID, id)
	if err != nil {
		return "", inventory.Token{}, err
	}
	// The key of signInUser's budget: guesses through this form and
	// through sign-in draw on one count.
	key := sha256Hex([]byte(user.Name))
	if err := s.signIn.takeFailure(ctx, key); err != nil {
		return "", inventory.Token{}, err
	}
	match, err := s.signIn.compare(ctx, s.opts.ComparePassword, []byte(user.PasswordHash), []byte(current))
	if err != nil {
		s.signIn.refundFailure(ctx, key)
		return "", inventory.Token{}, err
	}
	if !match {
		return "", inventory.Token{}, fmt.Errorf("iam: change password of user %d: %w", id, ErrWrongPassword)
	}
	s.signIn.succeeded(ctx, key)
	hash, err := hashPassword(next)
	if err != nil {
		return "", inventory.Token{}, err
	}
	if err := s.store.SetUserPassword(ctx, projectID, id, hash, inventory.Millis(s.opts.Now())); err != nil {
		return "", inventory.Token{}, fmt.Errorf("iam: change password of user %d: %w", id, err)
	}
	token, tok, err = s.issueToken(ctx, user)
	if err != nil {
		// The password changed and every session ended; the caller signs
		// in again with the new one.
		return "", inventory.Token{}, fmt.Errorf("iam: change password of user %d: new session: %w", id, err)
	}
	return token, tok, nil
}

// SetUserPassword is an admin's reset of the password of the user id of
// projectID, on behalf of the user by (ErrSelf when it is the same one:
// one's own password is changed with the current one, ChangePassword; by
// 0 is the CLI, acting for the operator of the server). The password must
// meet the rule of CreateUser (ErrInvalid). Every token of the user is
// revoked in the transaction that replaces the hash, so their sessions end
// on every server (within 2 s on another one: the store's token cache). A
// user of another project, or none, wraps inventory.ErrNotFound and
// changes nothing.
func (s *Service) SetUserPassword(ctx context.Context, projectID string, id, by int64, password string) error {
	if id == by {
		return fmt.Errorf("iam: set password of user %d: %w", id, ErrSelf)
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	if err := s.store.SetUserPassword(ctx, projectID, id, hash, inventory.Millis(s.opts.Now())); err != nil {
		return fmt.Errorf("iam: set password of user %d: %w", id, err)
	}
	return nil
}
