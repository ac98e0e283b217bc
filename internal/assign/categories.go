package assign

import (
	"context"
	"strings"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// CategoryInput creates or changes a category. Kind (APP or CONTENT) is fixed at creation.
type CategoryInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Kind        *string `json:"kind"`
}

// CategoryKind parses a category kind: APP or CONTENT, in any case.
func CategoryKind(s string) (mdm.ItemKind, bool) {
	k := mdm.ItemKind(strings.ToUpper(strings.TrimSpace(s)))
	return k, k == mdm.ItemApp || k == mdm.ItemContent
}

func checkCategory(v *mdm.Validator, in CategoryInput) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(name != "", "name", "Required", "is required")
		v.Check(len(name) <= 100, "name", "Size", "must be at most 100 characters")
		v.Check(!strings.ContainsFunc(name, isControl), "name", "Pattern", "must not contain control characters")
	}
	if in.Description != nil {
		v.Check(len(*in.Description) <= 1000, "description", "Size", "must be at most 1000 characters")
	}
}

// CreateCategory adds an app or content category to the caller's tenant (App Manage).
func (s *Service) CreateCategory(ctx context.Context, in CategoryInput) (*mdm.Category, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	v.Check(in.Name != nil, "name", "Required", "is required")
	var kind mdm.ItemKind
	if in.Kind == nil {
		v.Check(false, "kind", "Required", "must be APP or CONTENT")
	} else {
		var ok bool
		kind, ok = CategoryKind(*in.Kind)
		v.Check(ok, "kind", "Enum", "must be APP or CONTENT")
	}
	checkCategory(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	c := &mdm.Category{TenantID: tenantID, Kind: kind, Name: strings.TrimSpace(*in.Name), CreatedAt: now, ModifiedAt: now}
	if in.Description != nil {
		c.Description = *in.Description
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Categories().Create(ctx, c); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "category.create",
			TargetType: "category", TargetID: c.Name, Details: map[string]any{"id": c.ID, "kind": c.Kind}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListCategories pages through the caller's tenant's categories of kind (App Read).
func (s *Service) ListCategories(ctx context.Context, kind mdm.ItemKind, opts mdm.ListOptions) (mdm.Page[mdm.Category], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return mdm.Page[mdm.Category]{}, err
	}
	if kind != mdm.ItemApp && kind != mdm.ItemContent {
		return mdm.Page[mdm.Category]{}, mdm.FieldErrors(mdm.FieldError{Code: "Enum", Field: "kind", Message: "must be APP or CONTENT"})
	}
	return s.store.Categories().List(ctx, tenantID, kind, opts)
}

// GetCategory returns one category of the caller's tenant (App Read).
func (s *Service) GetCategory(ctx context.Context, id mdm.CategoryID) (*mdm.Category, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, err
	}
	return s.store.Categories().Get(ctx, tenantID, id)
}

// UpdateCategory renames a category or changes its description (App Manage).
func (s *Service) UpdateCategory(ctx context.Context, id mdm.CategoryID, in CategoryInput) (*mdm.Category, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	var out *mdm.Category
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		c, err := tx.Categories().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		var v mdm.Validator
		if in.Kind != nil {
			k, _ := CategoryKind(*in.Kind)
			v.Check(k == c.Kind, "kind", "Immutable", "a category's kind cannot change")
		}
		v.Check(in.Name != nil || in.Description != nil, "body", "Required", "give at least one of name, description")
		checkCategory(&v, in)
		if err := v.Err(); err != nil {
			return err
		}
		patch := mdm.CategoryPatch{Description: in.Description}
		if in.Name != nil {
			name := strings.TrimSpace(*in.Name)
			patch.Name = &name
		}
		if out, err = tx.Categories().Update(ctx, tenantID, id, patch, s.now()); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "category.update",
			TargetType: "category", TargetID: out.Name, Details: map[string]any{"id": out.ID, "kind": out.Kind, "was": c.Name}})
	})
	return out, err
}

// DeleteCategory removes a category from the tenant and from every item that carried it (App Manage).
func (s *Service) DeleteCategory(ctx context.Context, id mdm.CategoryID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		c, err := tx.Categories().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if err := tx.Categories().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "category.delete",
			TargetType: "category", TargetID: c.Name, Details: map[string]any{"id": c.ID, "kind": c.Kind}})
	})
}
