package mdm

import (
	"context"
	"time"
)

// GroupID identifies a user group.
type GroupID int64

// GroupKind says how a group gets its members.
type GroupKind string

const (
	AllUsersGroup GroupKind = "ALL_USERS" // every user of the tenant; exists once per tenant, cannot be deleted
	StaticGroup   GroupKind = "STATIC"    // members added and removed by hand
	DynamicGroup  GroupKind = "DYNAMIC"   // members are the users matching Rule, an fq filter over AccountFields
)

// UserGroup is a set of a tenant's users. Its roles are inherited by its members.
type UserGroup struct {
	ID          GroupID
	TenantID    TenantID
	Name        string
	Description string
	Kind        GroupKind
	Rule        string
	Roles       []string
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// GroupPatch changes some of a group's fields; nil fields stay as they are.
type GroupPatch struct {
	Name        *string
	Description *string
	Rule        *string
	Roles       *[]string
}

// GroupFields are the group fields that lists filter and sort on.
var GroupFields = FieldSet{"id": IntField, "name": StringField, "kind": StringField, "createdAt": TimeField}

// GroupStore keeps user groups and static memberships.
//
// Create and Update return conflict for a name taken in the tenant (case-insensitively). Get, Update,
// Delete, AddMembers and RemoveMembers return not_found for a group unknown in that tenant; AddMembers
// also for an account unknown in that tenant. Delete also removes the group's registration override and every distribution naming it
// (DistributionStore.DeleteForTarget).
// Members pages through a static group's members (not_found for an unknown group). GroupsFor returns the groups whose roles an account may
// inherit: the All Users group, the static groups it belongs to, and every dynamic group (the caller
// evaluates their rules). GroupsForAccounts does what GroupsFor does for each of accountIDs of the
// tenant, in a fixed number of queries (unknown ids get All Users and the dynamic groups).
type GroupStore interface {
	Create(ctx context.Context, g *UserGroup) error
	Get(ctx context.Context, tenantID TenantID, id GroupID) (*UserGroup, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[UserGroup], error)
	Update(ctx context.Context, tenantID TenantID, id GroupID, patch GroupPatch, now time.Time) (*UserGroup, error)
	Delete(ctx context.Context, tenantID TenantID, id GroupID) error
	AddMembers(ctx context.Context, tenantID TenantID, id GroupID, accounts []AccountID) error
	RemoveMembers(ctx context.Context, tenantID TenantID, id GroupID, accounts []AccountID) error
	GroupsFor(ctx context.Context, tenantID TenantID, account AccountID) ([]UserGroup, error)
	GroupsForAccounts(ctx context.Context, tenantID TenantID, accountIDs []AccountID) (map[AccountID][]UserGroup, error)
	Members(ctx context.Context, tenantID TenantID, id GroupID, opts ListOptions) (Page[Account], error)
}
