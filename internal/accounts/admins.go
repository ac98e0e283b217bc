package accounts

import (
	"context"
	"strings"

	"steward/internal/audit"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// CreateSystemAdmin adds a System Admin. There is never a default password: the operator supplies it.
func (s *Service) CreateSystemAdmin(ctx context.Context, username, password string) (*mdm.SystemAdmin, error) {
	var v mdm.Validator
	v.Check(username != "" && len(username) <= 64, "username", "Required", "must be 1 to 64 characters")
	v.Check(!strings.ContainsAny(username, "@ :\t\r\n"), "username", "Pattern",
		"must not contain '@', ':' or spaces (email addresses are tenant usernames)")
	v.Add("password", "Policy", secret.CheckPasswordPolicy(password, username))
	if err := v.Err(); err != nil {
		return nil, err
	}
	a := &mdm.SystemAdmin{Username: username, PasswordHash: secret.HashPassword(password), CreatedAt: s.now()}
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.SystemAdmins().Create(ctx, a); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{Action: "system_admin.create", TargetType: "system_admin",
			TargetID: username})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// EnsureSystemAdmin creates the "admin" System Admin with password unless one exists. It reports
// whether it created one.
func (s *Service) EnsureSystemAdmin(ctx context.Context, password string) (bool, error) {
	_, err := s.store.SystemAdmins().ByUsername(ctx, SystemAdminUsername)
	if err == nil {
		return false, nil
	}
	if !mdm.IsCode(err, mdm.NotFound) {
		return false, err
	}
	if _, err := s.CreateSystemAdmin(ctx, SystemAdminUsername, password); err != nil {
		if mdm.IsCode(err, mdm.Conflict) { // another replica created it first
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// HasSystemAdmin reports whether any System Admin exists.
func (s *Service) HasSystemAdmin(ctx context.Context) (bool, error) {
	n, err := s.store.SystemAdmins().Count(ctx)
	return n > 0, err
}
