package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Admin calls the admin API with a Tenant Admin's (or API user's) HTTP Basic credentials, for what a
// load run does besides provisioning: finding its devices, acting on them, uploading a push certificate.
type Admin struct {
	Client   *http.Client
	BaseURL  string
	Username string
	Password string
}

// Call sends body as JSON (unless nil) to path and decodes the envelope's result into out (unless nil).
func (a *Admin) Call(ctx context.Context, method, path string, body, out any) error {
	return call(ctx, a.Client, method, strings.TrimRight(a.BaseURL, "/")+path, basic(a.Username, a.Password), body, out)
}

// DeviceRecord is what Devices reads of each device.
type DeviceRecord struct {
	ID                int64  `json:"id"`
	SerialNumber      string `json:"serialNumber"`
	RegistrationState string `json:"registrationState"`
}

// Devices lists the tenant's devices matching the fq filter ("" for all), 500 per request.
func (a *Admin) Devices(ctx context.Context, fq string) ([]DeviceRecord, error) {
	const rows = 500
	var out []DeviceRecord
	for start := 0; ; start += rows {
		q := url.Values{"start": {strconv.Itoa(start)}, "rows": {strconv.Itoa(rows)}}
		if fq != "" {
			q.Set("fq", fq)
		}
		var page struct {
			SearchResults []DeviceRecord `json:"searchResults"`
			TotalCount    int            `json:"totalCount"`
		}
		if err := a.Call(ctx, http.MethodGet, "/api/v1/device?"+q.Encode(), nil, &page); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, page.SearchResults...)
		if len(page.SearchResults) < rows || len(out) >= page.TotalCount {
			return out, nil
		}
	}
}

// Act queues action (lock, forceCheckin, …: PUT /api/v1/device/{action}) for the devices ids, 10,000
// per request at most.
func (a *Admin) Act(ctx context.Context, action string, ids []int64) error {
	const per = 10_000
	for len(ids) > 0 {
		n := min(len(ids), per)
		parts := make([]string, n)
		for i, id := range ids[:n] {
			parts[i] = strconv.FormatInt(id, 10)
		}
		q := url.Values{"ids": {strings.Join(parts, ",")}}
		if err := a.Call(ctx, http.MethodPut, "/api/v1/device/"+action+"?"+q.Encode(), nil, nil); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		ids = ids[n:]
	}
	return nil
}
