package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestDeviceDeleteIsAllOrNothingAsDocumented: DELETE /api/v1/device with any id that is no device of
// the tenant (unknown, or another tenant's) answers 404 naming it and deletes nothing, and the OpenAPI
// description says so.
func TestDeviceDeleteIsAllOrNothingAsDocumented(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Delone")
	_, tb := e.createTenant("Deltwo")
	a := e.enrolled(ta, "a@delone.example.com", "D1")
	b := e.enrolled(tb, "b@deltwo.example.com", "D2")

	for _, other := range []int64{b.DeviceID, b.DeviceID + 1000} {
		r := e.call("DELETE", fmt.Sprintf("/api/v1/device?deviceIds=%d,%d", a.DeviceID, other), ta, "")
		if r.Status != 404 || !strings.Contains(r.Body, fmt.Sprint(other)) || !strings.Contains(r.Body, "nothing was deleted") {
			t.Errorf("delete with %d: %d %s; want 404 naming it", other, r.Status, r.Body)
		}
	}
	e.getDevice(ta, a.DeviceID)
	e.getDevice(tb, b.DeviceID)

	var n int
	e.call("DELETE", fmt.Sprintf("/api/v1/device?deviceIds=%d&deviceIds=%d", a.DeviceID, a.DeviceID), ta, "").must(t, 200, &n)
	if n != 1 {
		t.Errorf("result %d, want 1", n)
	}
	if r := e.call("GET", fmt.Sprintf("/api/v1/device/%d", a.DeviceID), ta, ""); r.Status != 404 {
		t.Errorf("deleted device: %d", r.Status)
	}

	var doc struct {
		Paths map[string]map[string]struct{ Description string } `json:"paths"`
	}
	if err := json.Unmarshal([]byte(e.call("GET", "/api/openapi.json", "", "").Body), &doc); err != nil {
		t.Fatal(err)
	}
	desc := doc.Paths["/api/v1/device"]["delete"].Description
	if strings.Contains(desc, "skipped") || !strings.Contains(desc, "404") || !strings.Contains(desc, "no device is deleted") {
		t.Errorf("DELETE /api/v1/device description does not state the all-or-nothing 404: %q", desc)
	}
}
