package httpapi

import (
	"net/http"
	"steward/internal/authz"

	"steward/internal/mdm"
	"steward/internal/tenants"
)

// tenantJSON is a tenant as the API shows it.
type tenantJSON struct {
	ID                   mdm.TenantID `json:"id"`
	Name                 string       `json:"name"`
	State                string       `json:"state"`
	LicenseDevices       int          `json:"licenseDevices"`
	DefaultDmPartitionID int64        `json:"defaultDmPartitionId"`
	DefaultCmPartitionID int64        `json:"defaultCmPartitionId"`
	CreatedAt            int64        `json:"createdAt"`
	ModifiedAt           int64        `json:"modifiedAt"`
}

func tenantOut(t mdm.Tenant) tenantJSON {
	return tenantJSON{ID: t.ID, Name: t.Name, State: string(t.State), LicenseDevices: t.LicenseDevices,
		DefaultDmPartitionID: int64(t.DefaultDmPartitionID), DefaultCmPartitionID: int64(t.DefaultCmPartitionID),
		CreatedAt: millis(t.CreatedAt), ModifiedAt: millis(t.ModifiedAt)}
}

type adminJSON struct {
	ID           mdm.AccountID `json:"id"`
	UID          string        `json:"uid"`
	EmailAddress string        `json:"emailAddress"`
	FirstName    string        `json:"firstName"`
	LastName     string        `json:"lastName"`
	Roles        []string      `json:"roles"`
}

type createdTenantJSON struct {
	tenantJSON
	Admin          adminJSON `json:"admin"`
	ActivationSent bool      `json:"activationSent"`
}

type usageJSON struct {
	TenantID          mdm.TenantID   `json:"tenantId,omitempty"`
	Name              string         `json:"name"`
	State             string         `json:"state,omitempty"`
	Users             int            `json:"users"`
	DevicesByPlatform map[string]int `json:"devicesByPlatform"`
	LicensedSeats     int            `json:"licensedSeats"`
	UsedSeats         int            `json:"usedSeats"`
}

type reportJSON struct {
	Tenants []usageJSON `json:"tenants"`
	Total   usageJSON   `json:"total"`
}

type metadataJSON struct {
	ID                   mdm.TenantID `json:"id"`
	Name                 string       `json:"name"`
	DefaultDmPartitionID int64        `json:"defaultDmPartitionId"`
	DefaultCmPartitionID int64        `json:"defaultCmPartitionId"`
	LicenseDevices       int          `json:"licenseDevices"`
}

func usageOut(u mdm.TenantUsage) usageJSON {
	return usageJSON{TenantID: u.TenantID, Name: u.Name, State: string(u.State), Users: u.Users,
		DevicesByPlatform: u.DevicesByPlatform, LicensedSeats: u.LicensedSeats, UsedSeats: u.UsedSeats}
}

func (a *API) tenantRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/tenants", Tag: "Tenants", Needs: authz.SystemAdmin,
		Summary: "Create a tenant with its first Tenant Admin",
		Description: "With sendActivation=true the Tenant Admin receives the Admin Activation email, holding a one-time link " +
			"(valid 72 hours) to choose a password; adminPassword must then be empty. With sendActivation=false (the default), " +
			"adminPassword is required (12 to 256 characters). adminEmail becomes the admin's username and must be unique across " +
			"the whole system. " + emailRules + " licenseDevices defaults to 100.",
		Body: tenants.CreateInput{}, Result: createdTenantJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in tenants.CreateInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			c, err := a.tenants.Create(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, createdTenantJSON{tenantJSON: tenantOut(c.Tenant), ActivationSent: c.ActivationSent,
				Admin: adminJSON{ID: c.Admin.ID, UID: c.Admin.Username, EmailAddress: c.Admin.Email,
					FirstName: c.Admin.FirstName, LastName: c.Admin.LastName, Roles: c.Admin.Roles}})
		})

	a.add(Route{Method: "GET", Path: "/api/v1/tenants", Tag: "Tenants", Needs: authz.SystemAdmin, Summary: "List tenants",
		Description: "Filter fields: " + fieldList(mdm.TenantFields) + ".", Query: listParams, Result: tenantJSON{}, List: true},
		listHandler(mdm.TenantFields, nil, a.tenants.List, tenantOut))

	a.add(Route{Method: "GET", Path: "/api/v1/tenants/{id}", Tag: "Tenants", Needs: authz.SystemAdmin, Summary: "Get a tenant",
		Result: tenantJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			t, err := a.tenants.Get(r.Context(), mdm.TenantID(r.PathValue("id")))
			if err != nil {
				return err
			}
			return ok(w, tenantOut(*t))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/tenants/{id}", Tag: "Tenants", Needs: authz.SystemAdmin,
		Summary:     "Rename, suspend or resume a tenant, or change its seats",
		Description: "state is ACTIVE or SUSPENDED. A suspended tenant's credentials and sessions stop working on their next request.",
		Body:        tenants.UpdateInput{}, Result: tenantJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in tenants.UpdateInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			t, err := a.tenants.Update(r.Context(), mdm.TenantID(r.PathValue("id")), in)
			if err != nil {
				return err
			}
			return ok(w, tenantOut(*t))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/system/report", Tag: "Tenants", Needs: authz.SystemAdmin,
		Summary:     "Site report",
		Description: "Per tenant and in total: users, devices by platform (retired and wiped devices excluded), licensed and used seats.",
		Result:      reportJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			rep, err := a.tenants.SiteReport(r.Context())
			if err != nil {
				return err
			}
			out := reportJSON{Tenants: []usageJSON{}, Total: usageOut(rep.Total)}
			for _, u := range rep.Tenants {
				out.Tenants = append(out.Tenants, usageOut(u))
			}
			return ok(w, out)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/metadata/tenant", Tag: "Tenant", Needs: authz.TenantRead,
		Summary:     "The caller's tenant",
		Description: "defaultDmPartitionId is the tenant's default device space (pass it as dmPartitionId); defaultCmPartitionId its content space.",
		Result:      metadataJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			t, err := a.tenants.Current(r.Context())
			if err != nil {
				return err
			}
			return ok(w, metadataJSON{ID: t.ID, Name: t.Name, DefaultDmPartitionID: int64(t.DefaultDmPartitionID),
				DefaultCmPartitionID: int64(t.DefaultCmPartitionID), LicenseDevices: t.LicenseDevices})
		})
}

// emailRules is the documented form of mdm.ParseEmail.
const emailRules = "Email addresses are plain local-part@domain (no display name, no quotes or comments), at most 254 " +
	"characters; the local part (at most 64) uses letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ and periods, " +
	"with no leading, trailing or doubled period; the domain has at least two labels of letters, digits and inner hyphens, " +
	"ending in a top-level label of two or more letters."
