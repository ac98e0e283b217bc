package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// distributionInput is the body of an item's PUT …/{id}/distribution (apps, content, configurations):
// the complete list of its targets, which replaces the old one. JSON:
//
//	{"targets": [{"type": "ALL_USERS"}, {"type": "USER_GROUP", "id": 12, "required": true},
//	             {"type": "DEVICE_GROUP", "id": 3}]}
//
// or form-encoded: targets[0].type=ALL_USERS&targets[1].type=USER_GROUP&targets[1].id=12&… . An empty
// list distributes the item to nobody. required (apps) installs the item automatically; otherwise it is
// optional, shown in the catalog.
type distributionInput struct {
	Targets []targetJSON `json:"targets"`
}

// targetJSON is one target of an item, in requests and responses. id is 0 (or absent) for ALL_USERS.
type targetJSON struct {
	Type     string `json:"type"`
	ID       int64  `json:"id"`
	Required bool   `json:"required"`
}

// distributionJSON is an item's distribution in responses.
type distributionJSON struct {
	Targets []targetJSON `json:"targets"`
}

// distributionOut renders an item's distributions (as DistributionStore.ForItem returns them).
func distributionOut(ds []mdm.Distribution) distributionJSON {
	out := distributionJSON{Targets: make([]targetJSON, 0, len(ds))}
	for _, d := range ds {
		out.Targets = append(out.Targets, targetJSON{Type: string(d.Target), ID: d.TargetID, Required: d.Required})
	}
	return out
}

// decodeDistribution reads and validates an item's distribution body for an item of kind: the target
// types, ALL_USERS without id, group ids given and naming user or device groups of the caller's tenant,
// no target twice, at most 200 (field errors name targets[i].type or targets[i].id). It needs the
// permission that changing an item of kind takes (App Manage, or Config Manage for configurations). The
// item's service stores the result with assign.SetDistribution, which checks it again in its
// transaction. distributionRoutes uses it; a route of its own declares Body: distributionInput{}.
func (a *API) decodeDistribution(w http.ResponseWriter, r *http.Request, kind mdm.ItemKind) ([]mdm.Distribution, error) {
	var in distributionInput
	if err := decode(w, r, &in); err != nil {
		return nil, err
	}
	return a.checkDistribution(r.Context(), kind, in)
}

func (a *API) checkDistribution(ctx context.Context, kind mdm.ItemKind, in distributionInput) ([]mdm.Distribution, error) {
	var v mdm.Validator
	ds := make([]mdm.Distribution, 0, len(in.Targets))
	for i, t := range in.Targets {
		field := func(name string) string { return "targets[" + strconv.Itoa(i) + "]." + name }
		target := mdm.TargetKind(strings.ToUpper(strings.TrimSpace(t.Type)))
		switch {
		case !target.Valid():
			v.Check(false, field("type"), "Enum", "must be ALL_USERS, USER_GROUP or DEVICE_GROUP")
		case target != mdm.TargetAllUsers:
			v.Check(t.ID > 0, field("id"), "Required", "give the group's id")
		}
		ds = append(ds, mdm.Distribution{Target: target, TargetID: t.ID, Required: t.Required})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := a.assign.ValidateTargets(ctx, kind, ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// itemDistribution describes the distribution routes of one item kind, for distributionRoutes.
type itemDistribution struct {
	Base string       // the item collection's path, e.g. /api/v1/apps; the routes are Base/{id}/distribution
	Tag  string       // the OpenAPI tag of the item's routes
	What string       // the item's name in messages and the document, e.g. "app"
	Kind mdm.ItemKind // the item kind the targets are checked for
	// Read and Manage are the permissions of reading and changing the item (e.g. authz.AppRead and
	// authz.AppManage; authz.ConfigRead and authz.ConfigManage for configurations).
	Read, Manage authz.Permission
	// Get returns the item's distributions (not_found for an unknown item); the item's service checks
	// the caller's permission. Typically tx.Distributions().ForItem after reading the item.
	Get func(ctx context.Context, id int64) ([]mdm.Distribution, error)
	// Set replaces the item's targets and returns them as stored: the item's service checks the item
	// and the permission, calls assign.SetDistribution in its transaction with its audit row, and
	// converges the devices of the old and new targets.
	Set func(ctx context.Context, id int64, ds []mdm.Distribution) ([]mdm.Distribution, error)
}

// distributionRoutes serves GET and PUT {Base}/{id}/distribution for one item kind: the body is
// distributionInput (decoded and checked by decodeDistribution), the result distributionJSON.
func (a *API) distributionRoutes(d itemDistribution) {
	path := d.Base + "/{id}/distribution"
	a.add(Route{Method: "GET", Path: path, Tag: d.Tag, Needs: d.Read,
		Summary:     "Get who the " + d.What + " is distributed to",
		Description: "targets: ALL_USERS, USER_GROUP (id: a user group) or DEVICE_GROUP (id: a device group), each required or not.",
		Result:      distributionJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[int64](r, d.What)
			if err != nil {
				return err
			}
			ds, err := d.Get(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, distributionOut(ds))
		})
	a.add(Route{Method: "PUT", Path: path, Tag: d.Tag, Needs: d.Manage,
		Summary: "Set who the " + d.What + " is distributed to",
		Description: "The targets replace the old ones (an empty list distributes to nobody). type ALL_USERS (no id), " +
			"USER_GROUP or DEVICE_GROUP with the group's id; required: true installs automatically, otherwise the " +
			d.What + " is optional (shown in the catalog). Devices converge without further steps.",
		Body: distributionInput{}, Result: distributionJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[int64](r, d.What)
			if err != nil {
				return err
			}
			ds, err := a.decodeDistribution(w, r, d.Kind)
			if err != nil {
				return err
			}
			if ds, err = d.Set(r.Context(), id, ds); err != nil {
				return err
			}
			return ok(w, distributionOut(ds))
		})
}
