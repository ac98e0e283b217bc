package web

import (
	"net/http"
	"slices"

	"steward/internal/mdm"
)

type reportView struct {
	Platforms []string
	Rows      []usageRow
	Total     usageRow
}

type usageRow struct {
	mdm.TenantUsage
	Devices []int // per platform, in the order of reportView.Platforms
}

// reportPage is the site report: users, devices by platform and seats per tenant, and the total.
func (c *console) reportPage(w http.ResponseWriter, r *http.Request) error {
	rep, err := c.Tenants.SiteReport(r.Context())
	if err != nil {
		return err
	}
	var platforms []string
	for p := range rep.Total.DevicesByPlatform {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	row := func(u mdm.TenantUsage) usageRow {
		ur := usageRow{TenantUsage: u}
		for _, p := range platforms {
			ur.Devices = append(ur.Devices, u.DevicesByPlatform[p])
		}
		return ur
	}
	v := reportView{Platforms: platforms, Total: row(rep.Total)}
	for _, u := range rep.Tenants {
		v.Rows = append(v.Rows, row(u))
	}
	return render(w, r, http.StatusOK, "report", page{Title: "Site report", Nav: "report", Data: v})
}
