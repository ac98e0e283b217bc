package httpapi

import (
	"context"
	"net/http"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
)

type deviceGroupJSON struct {
	ID          mdm.DeviceGroupID `json:"id"`
	TenantID    mdm.TenantID      `json:"tenantId"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Kind        string            `json:"kind"`
	Rule        string            `json:"rule"`
	BuiltIn     bool              `json:"builtIn"`
	CreatedAt   int64             `json:"createdAt"`
	ModifiedAt  int64             `json:"modifiedAt"`
}

func deviceGroupOut(g mdm.DeviceGroup) deviceGroupJSON {
	return deviceGroupJSON{ID: g.ID, TenantID: g.TenantID, Name: g.Name, Description: g.Description, Kind: string(g.Kind),
		Rule: g.Rule, BuiltIn: g.BuiltIn, CreatedAt: millis(g.CreatedAt), ModifiedAt: millis(g.ModifiedAt)}
}

type deviceMembersInput struct {
	DeviceIDs []int64 `json:"deviceIds"`
}

const deviceGroupsTag = "Device groups"

// assignmentJSON is one item distributed to a group.
type assignmentJSON struct {
	ItemKind string `json:"itemKind"`
	ItemID   int64  `json:"itemId"`
	Required bool   `json:"required"`
}

func assignmentsOut(ds []mdm.Distribution) []assignmentJSON {
	out := make([]assignmentJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, assignmentJSON{ItemKind: string(d.ItemKind), ItemID: d.ItemID, Required: d.Required})
	}
	return out
}

func (a *API) deviceGroupRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/devicegroups", Tag: deviceGroupsTag, Needs: authz.DeviceManage,
		Summary: "Create a device group",
		Description: "kind STATIC (devices added by hand, the default) or DYNAMIC (the devices matching rule, an fq filter " +
			"over device fields: " + fieldList(mdm.DeviceFields) + "). Apps, content and configurations can be distributed to it.",
		Body: assign.DeviceGroupInput{}, Result: deviceGroupJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in assign.DeviceGroupInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			g, err := a.assign.CreateDeviceGroup(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, deviceGroupOut(*g))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/devicegroups", Tag: deviceGroupsTag, Needs: authz.DeviceRead,
		Summary: "List device groups",
		Description: "The built-in groups (All Devices, iOS Devices, Android Devices, tvOS Devices) always exist. Filter " +
			"fields: " + fieldList(mdm.DeviceGroupFields) + ".",
		Query: listParams, Result: deviceGroupJSON{}, List: true},
		listHandler(mdm.DeviceGroupFields, nil, a.assign.ListDeviceGroups, deviceGroupOut))

	a.add(Route{Method: "GET", Path: "/api/v1/devicegroups/{id}", Tag: deviceGroupsTag, Needs: authz.DeviceRead,
		Summary: "Get a device group", Result: deviceGroupJSON{}},
		getHandler("device group", a.assign.GetDeviceGroup, deviceGroupOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/devicegroups/{id}", Tag: deviceGroupsTag, Needs: authz.DeviceManage,
		Summary:     "Change a device group's name, description or rule",
		Description: "The kind cannot change; built-in groups cannot be changed.",
		Body:        assign.DeviceGroupInput{}, Result: deviceGroupJSON{}},
		updateHandler("device group", a.assign.UpdateDeviceGroup, deviceGroupOut))

	a.add(Route{Method: "DELETE", Path: "/api/v1/devicegroups/{id}", Tag: deviceGroupsTag, Needs: authz.DeviceManage,
		Summary: "Delete a device group",
		Description: "Whatever was distributed to the group no longer reaches its devices through it. Built-in groups " +
			"cannot be deleted."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.DeviceGroupID](r, "device group")
			if err != nil {
				return err
			}
			if err := a.assign.DeleteDeviceGroup(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/devicegroups/{id}/members", Tag: deviceGroupsTag, Needs: authz.DeviceRead,
		Summary: "List a device group's devices",
		Description: "A static group's added devices, the devices a dynamic group's rule matches now, or every device for " +
			"All Devices. Paged, sorted and filtered like the device list (fields: " + fieldList(mdm.DeviceFields) + ").",
		Query: listParams, Result: deviceRecordJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.DeviceGroupID](r, "device group")
			if err != nil {
				return err
			}
			space, err := a.checkSpace(r)
			if err != nil {
				return err
			}
			return listHandler(mdm.DeviceFields, []mdm.SortField{{Field: "id"}},
				func(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
					return a.assign.DeviceGroupMembers(ctx, id, opts)
				}, func(d mdm.Device) deviceRecordJSON { return deviceOut(d, space) })(w, r)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/devicegroups/{id}/distributions", Tag: deviceGroupsTag, Needs: authz.DeviceRead,
		Summary:     "List what is distributed to a device group",
		Description: "The apps, content and configurations (itemKind APP, CONTENT, CONFIGURATION) that name this group as a target.",
		Result:      []assignmentJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.DeviceGroupID](r, "device group")
			if err != nil {
				return err
			}
			ds, err := a.assign.DeviceGroupDistributions(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, assignmentsOut(ds))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/usergroups/{id}/distributions", Tag: "User groups", Needs: authz.UserRead,
		Summary:     "List what is distributed to a user group",
		Description: "The apps, content and configurations (itemKind APP, CONTENT, CONFIGURATION) that name this group as a target.",
		Result:      []assignmentJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.GroupID](r, "group")
			if err != nil {
				return err
			}
			ds, err := a.assign.UserGroupDistributions(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, assignmentsOut(ds))
		})

	members := func(add bool) func(w http.ResponseWriter, r *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.DeviceGroupID](r, "device group")
			if err != nil {
				return err
			}
			var in deviceMembersInput
			if r.Method == http.MethodPut {
				if err := decode(w, r, &in); err != nil {
					return err
				}
			} else if in.DeviceIDs, err = int64s(r, "deviceIds"); err != nil {
				return err
			}
			ids := make([]mdm.DeviceID, 0, len(in.DeviceIDs))
			for _, n := range in.DeviceIDs {
				ids = append(ids, mdm.DeviceID(n))
			}
			if err := a.assign.ChangeDeviceGroupMembers(r.Context(), id, ids, add); err != nil {
				return err
			}
			return ok(w, 1)
		}
	}
	a.add(Route{Method: "PUT", Path: "/api/v1/devicegroups/{id}/members", Tag: deviceGroupsTag, Needs: authz.DeviceManage,
		Summary:     "Add devices to a static device group",
		Description: "Body: deviceIds (at most 500). All are added, or none if any is unknown; existing members stay.",
		Body:        deviceMembersInput{}},
		members(true))
	a.add(Route{Method: "DELETE", Path: "/api/v1/devicegroups/{id}/members", Tag: deviceGroupsTag, Needs: authz.DeviceManage,
		Summary: "Remove devices from a static device group",
		Query:   []Param{{"deviceIds", "integer", "device id (repeatable)"}}},
		members(false))
}
