package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// MaxAccountsPerRequest bounds one create call.
const MaxAccountsPerRequest = 100

// NewAccount is one account to create. Without a password it is a half account (it registers devices
// with a PIN only); with a password, first and last name are required and it is a full account.
type NewAccount struct {
	EmailAddress  string   `json:"emailAddress"`
	UID           string   `json:"uid"` // the username: an email address, the email address by default
	FirstName     string   `json:"firstName"`
	LastName      string   `json:"lastName"`
	Password      string   `json:"password"`
	Roles         []string `json:"roles"`
	AccountSource string   `json:"accountSource"` // LOCAL, the only source so far
	// APIUser accounts call the API with HTTP Basic (so they need a password) but never open a console session.
	APIUser bool `json:"apiUser"`
}

// AccountUpdate changes an account; absent fields stay.
type AccountUpdate struct {
	FirstName *string   `json:"firstName"`
	LastName  *string   `json:"lastName"`
	Roles     *[]string `json:"roles"`
	Enabled   *bool     `json:"enabled"`
	APIUser   *bool     `json:"apiUser"`
}

// checkGrant refuses roles that are unknown or that would give more than the caller holds, so that
// nobody can raise their own or anyone's rights above their own.
func checkGrant(v *mdm.Validator, p *mdm.Principal, field string, roles []string) {
	for _, r := range roles {
		if !authz.KnownRole(r) {
			v.Check(false, field, "Unknown", "unknown role "+r+" (see GET /api/v1/roles)")
			continue
		}
		for _, perm := range authz.Permissions(r) {
			if !authz.Allowed(p, perm) {
				v.Check(false, field, "Forbidden", "you cannot grant "+r+": it includes "+string(perm)+", which you do not hold")
				break
			}
		}
	}
}

func checkName(v *mdm.Validator, field, value string, required bool) {
	v.Check(!required || strings.TrimSpace(value) != "", field, "Required", "is required for an account with a password")
	v.Check(utf8.RuneCountInString(value) <= 100, field, "Size", "must be at most 100 characters")
	v.Check(strings.IndexFunc(value, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) < 0,
		field, "Pattern", "must not contain control characters")
}

// CreateAccounts adds accounts to the caller's tenant, all or none, in one transaction; with invite, each
// gets its invitation email in the same transaction.
func (s *Service) CreateAccounts(ctx context.Context, in []NewAccount, invite bool) ([]mdm.Account, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	v.Check(len(in) > 0, "accounts", "Required", "give at least one account, as accounts[0].emailAddress")
	v.Check(len(in) <= MaxAccountsPerRequest, "accounts", "Size", fmt.Sprintf("at most %d accounts per request", MaxAccountsPerRequest))
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]mdm.Account, len(in))
	seen := map[string]int{}
	for i, a := range in {
		f := func(name string) string { return fmt.Sprintf("accounts[%d].%s", i, name) }
		email, err := mdm.ParseEmail(a.EmailAddress)
		v.Add(f("emailAddress"), "Email", err)
		username := email
		if a.UID != "" {
			uid, err := mdm.ParseEmail(a.UID)
			v.Add(f("uid"), "Email", err)
			username = uid
		}
		v.Check(a.AccountSource == "" || a.AccountSource == "LOCAL", f("accountSource"), "Enum", "must be LOCAL")
		full := a.Password != ""
		checkName(&v, f("firstName"), a.FirstName, full)
		checkName(&v, f("lastName"), a.LastName, full)
		if full {
			v.Add(f("password"), "Policy", secret.CheckPasswordPolicy(a.Password, username))
		}
		v.Check(!a.APIUser || full, f("apiUser"), "Required", "an API user signs in with HTTP Basic: give it a password")
		checkGrant(&v, p, f("roles"), a.Roles)
		if j, dup := seen[strings.ToLower(username)]; dup && username != "" {
			v.Check(false, f("emailAddress"), "Duplicate", fmt.Sprintf("repeats accounts[%d]", j))
		}
		seen[strings.ToLower(username)] = i
		out[i] = mdm.Account{TenantID: tenantID, Username: username, Email: email, FirstName: a.FirstName,
			LastName: a.LastName, Roles: slices.Compact(slices.Sorted(slices.Values(a.Roles))), Enabled: true, APIUser: a.APIUser,
			CreatedBy: p.Username, CreatedAt: now, ModifiedAt: now}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for i, a := range in {
		if a.Password != "" {
			out[i].PasswordHash = secret.HashPassword(a.Password)
		}
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		for i := range out {
			if err := tx.Accounts().Create(ctx, &out[i]); err != nil {
				return mdm.ConflictOn(err, fmt.Sprintf("accounts[%d].emailAddress", i))
			}
			// A dynamic group or All Users can hand the new account roles of its own: the caller must be
			// able to grant whatever it ends up holding.
			effective, err := effectiveRolesIn(ctx, tx, &out[i])
			if err != nil {
				return err
			}
			checkGrant(&v, p, fmt.Sprintf("accounts[%d].emailAddress", i), effective)
			if err := v.Err(); err != nil {
				return err
			}
			kind := "half"
			if out[i].PasswordHash != "" {
				kind = "full"
			}
			if invite {
				if err := s.invite(ctx, tx, &out[i], len(out) == 1); err != nil {
					return err
				}
			}
			if err := audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "account.create",
				TargetType: "account", TargetID: out[i].Username,
				Details: map[string]any{"id": out[i].ID, "kind": kind, "roles": out[i].Roles, "invited": invite}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if invite {
		s.mailed()
	}
	return out, nil
}

// ListAccounts pages through the caller's tenant's accounts.
func (s *Service) ListAccounts(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Account], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return mdm.Page[mdm.Account]{}, err
	}
	return s.store.Accounts().List(ctx, tenantID, opts)
}

// GetAccount returns one account of the caller's tenant.
func (s *Service) GetAccount(ctx context.Context, id mdm.AccountID) (*mdm.Account, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	return s.store.Accounts().Get(ctx, tenantID, id)
}

// UpdateAccount changes names, roles or the enabled flag. Nobody can disable themselves or change
// their own roles, so a tenant cannot lock out its last administrator by accident.
func (s *Service) UpdateAccount(ctx context.Context, id mdm.AccountID, in AccountUpdate) (*mdm.Account, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	v.Check(in.FirstName != nil || in.LastName != nil || in.Roles != nil || in.Enabled != nil || in.APIUser != nil, "body",
		"Required", "give at least one of firstName, lastName, roles, enabled, apiUser")
	if in.FirstName != nil {
		checkName(&v, "firstName", *in.FirstName, false)
	}
	if in.LastName != nil {
		checkName(&v, "lastName", *in.LastName, false)
	}
	if in.Roles != nil {
		checkGrant(&v, p, "roles", *in.Roles)
		sorted := slices.Compact(slices.Sorted(slices.Values(*in.Roles)))
		in.Roles = &sorted
	}
	self := int64(id) == p.ID
	v.Check(!self || in.Roles == nil, "roles", "Self", "you cannot change your own roles")
	v.Check(!self || in.Enabled == nil || *in.Enabled, "enabled", "Self", "you cannot disable your own account")
	v.Check(!self || in.APIUser == nil, "apiUser", "Self", "you cannot change whether you are an API user")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *mdm.Account
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		before, err := tx.Accounts().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if err := requireCanManage(ctx, tx, p, before); err != nil {
			return err
		}
		out, err = tx.Accounts().Update(ctx, tenantID, id, mdm.AccountPatch{FirstName: in.FirstName, LastName: in.LastName,
			Roles: in.Roles, Enabled: in.Enabled, APIUser: in.APIUser}, s.now())
		if err != nil {
			return err
		}
		if out.APIUser && out.PasswordHash == "" {
			return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "apiUser",
				Message: "an API user signs in with HTTP Basic, and this account has no password"})
		}
		// A new name can bring the account into a dynamic group: the caller must be able to grant
		// whatever the account ends up holding.
		effective, err := effectiveRolesIn(ctx, tx, out)
		if err != nil {
			return err
		}
		var v mdm.Validator
		checkGrant(&v, p, "roles", effective)
		if err := v.Err(); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "account.update",
			TargetType: "account", TargetID: out.Username, Details: map[string]any{"id": out.ID}})
	})
	return out, err
}

// DeleteAccounts removes accounts of the caller's tenant: all of ids or, if any is unknown, none.
func (s *Service) DeleteAccounts(ctx context.Context, ids []mdm.AccountID) error {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return err
	}
	var v mdm.Validator
	v.Check(len(ids) > 0, "ids", "Required", "give the accounts to delete as ids=…")
	v.Check(len(ids) <= MaxAccountsPerRequest, "ids", "Size", fmt.Sprintf("at most %d accounts per request", MaxAccountsPerRequest))
	v.Check(!slices.Contains(ids, mdm.AccountID(p.ID)), "ids", "Self", "you cannot delete your own account")
	if err := v.Err(); err != nil {
		return err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			a, err := tx.Accounts().Get(ctx, tenantID, id)
			if err != nil {
				if mdm.IsCode(err, mdm.NotFound) {
					return mdm.Errorf(mdm.NotFound, "account %d not found: nothing was deleted", id)
				}
				return err
			}
			if err := requireCanManage(ctx, tx, p, a); err != nil {
				return err
			}
			names = append(names, a.Username)
		}
		// Their devices stay, without an owner, until an administrator gives them one or removes them.
		if err := tx.Devices().ClearAccount(ctx, tenantID, ids); err != nil {
			return err
		}
		if _, err := tx.Accounts().Delete(ctx, tenantID, ids); err != nil {
			return err
		}
		// Their devices lose what reached them through their owner's groups.
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		for i, id := range ids {
			if err := audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "account.delete",
				TargetType: "account", TargetID: names[i], Details: map[string]any{"id": id}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// InviteAccounts sends (or sends again) the invitation of existing accounts of the caller's tenant:
// all of ids or, if any is unknown, none. A half account gets a fresh PIN, which replaces its last one.
func (s *Service) InviteAccounts(ctx context.Context, ids []mdm.AccountID) error {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return err
	}
	var v mdm.Validator
	v.Check(len(ids) > 0, "ids", "Required", "give the accounts to invite as ids=…")
	v.Check(len(ids) <= MaxAccountsPerRequest, "ids", "Size", fmt.Sprintf("at most %d accounts per request", MaxAccountsPerRequest))
	if err := v.Err(); err != nil {
		return err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		for _, id := range ids {
			a, err := tx.Accounts().Get(ctx, tenantID, id)
			if mdm.IsCode(err, mdm.NotFound) {
				return mdm.Errorf(mdm.NotFound, "account %d not found: nobody was invited", id)
			}
			if err != nil {
				return err
			}
			if err := requireCanManage(ctx, tx, p, a); err != nil {
				return err
			}
			if err := s.invite(ctx, tx, a, len(ids) == 1); err != nil {
				return err
			}
			if err := audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "account.invite",
				TargetType: "account", TargetID: a.Username, Details: map[string]any{"id": a.ID}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mailed()
	return nil
}
