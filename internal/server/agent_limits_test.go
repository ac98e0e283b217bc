package server

import (
	"fmt"
	"strings"
	"testing"

	"steward/internal/android"
	"steward/internal/devices"
)

// TestAgentReportLimits: one set of limits holds for what a device reports, whichever call carries it.
// A value at its limit is accepted and stored whole; one byte or item more gets 400 naming the field.
func TestAgentReportLimits(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Limits")
	reg := e.enrolled(ta, "lim@limits.example.com", "L1")
	cred := reg.Credential
	// command queues a lock and returns its id, as the device receives it.
	command := func() int64 {
		t.Helper()
		e.act(ta, "lock", reg.DeviceID)
		reply := e.checkin(cred, android.CheckinRequest{})
		if len(reply.Commands) != 1 {
			t.Fatalf("commands %+v, want the lock", reply.Commands)
		}
		return reply.Commands[0].ID
	}
	apps := func(n int) *[]android.App {
		a := make([]android.App, n)
		for i := range a {
			a[i] = android.App{AppID: fmt.Sprintf("org.example.app%d", i), Name: "App", Version: "1"}
		}
		return &a
	}
	at := func(n int) string { return strings.Repeat("r", n) }

	over := []struct {
		name, method, path, field string
		body                      any
	}{
		{"a result one byte over", "POST", "/api/agent/v1/checkin", "results[0].result",
			android.CheckinRequest{Results: []android.CommandResult{{ID: 1, Status: "ACKNOWLEDGED", Result: at(devices.MaxResultBytes + 1)}}}},
		{"an error one byte over", "POST", "/api/agent/v1/checkin", "results[0].error",
			android.CheckinRequest{Results: []android.CommandResult{{ID: 1, Status: "ERROR", Error: at(devices.MaxErrorBytes + 1)}}}},
		{"one app too many", "POST", "/api/agent/v1/checkin", "apps", android.CheckinRequest{Apps: apps(devices.MaxApps + 1)}},
		{"an answer's result one byte over", "PUT", "/api/agent/v1/commands/1", "result",
			android.CommandResult{Status: "ACKNOWLEDGED", Result: at(devices.MaxResultBytes + 1)}},
		{"an answer's error one byte over", "PUT", "/api/agent/v1/commands/1", "error",
			android.CommandResult{Status: "ERROR", Error: at(devices.MaxErrorBytes + 1)}},
	}
	for _, c := range over {
		r := e.agent(c.method, c.path, cred, c.body)
		if r.Status != 400 || !contains(r.fields(), c.field) {
			t.Errorf("%s: status %d, fields %v; want 400 naming %s", c.name, r.Status, r.fields(), c.field)
		}
	}

	// At the limits: accepted, and stored whole.
	results := map[int64]android.CommandResult{}
	id := command()
	results[id] = android.CommandResult{ID: id, Status: "ACKNOWLEDGED", Result: at(devices.MaxResultBytes)}
	e.checkin(cred, android.CheckinRequest{Results: []android.CommandResult{results[id]}, Apps: apps(devices.MaxApps)})
	id = command()
	results[id] = android.CommandResult{ID: id, Status: "ERROR", Error: at(devices.MaxErrorBytes)}
	e.checkin(cred, android.CheckinRequest{Results: []android.CommandResult{results[id]}})
	id = command()
	results[id] = android.CommandResult{ID: id, Status: "ACKNOWLEDGED", Result: at(devices.MaxResultBytes)}
	e.agent("PUT", fmt.Sprintf("/api/agent/v1/commands/%d", id), cred, results[id]).must(t, 200, nil)

	if got := e.getDevice(ta, reg.DeviceID).AppCount; got != devices.MaxApps {
		t.Errorf("app count %d, want %d", got, devices.MaxApps)
	}
	var p page[struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Result string `json:"result"`
		Error  string `json:"error"`
	}]
	e.call("GET", fmt.Sprintf("/api/v1/device/%d/commands", reg.DeviceID), ta, "").must(t, 200, &p)
	for _, c := range p.SearchResults {
		want, ok := results[c.ID]
		if !ok {
			continue
		}
		delete(results, c.ID)
		if c.Status != want.Status || c.Result != want.Result || c.Error != want.Error {
			t.Errorf("command %d: status %s, %d bytes of result, %d of error; want %s, %d, %d", c.ID, c.Status,
				len(c.Result), len(c.Error), want.Status, len(want.Result), len(want.Error))
		}
	}
	if len(results) != 0 {
		t.Errorf("commands missing from the history: %v", results)
	}
}

// TestAgentTypeErrorsNameJSONTypes: over HTTP, a body value of the wrong type gets 400 naming its wire
// path and the JSON type expected, never a Go type name.
func TestAgentTypeErrorsNameJSONTypes(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Types")
	cred := e.enrolled(ta, "ty@types.example.com", "T1").Credential
	for _, c := range []struct {
		name, path, cred string
		body             any
		field, message   string
	}{
		{"a number for the username", "/api/agent/v1/register", "", map[string]any{"username": 5}, "username", "must be a string"},
		{"an array for the check-in", "/api/agent/v1/checkin", cred, []int{1}, "body", "must be an object"},
		{"a string for a result's id", "/api/agent/v1/checkin", cred,
			map[string]any{"results": []any{map[string]any{"id": 1, "status": "NOT_NOW"}, map[string]any{"id": "x"}}},
			"results[1].id", "must be a whole number"},
		{"a capacity out of range", "/api/agent/v1/checkin", cred,
			map[string]any{"facts": map[string]any{"deviceModel": "x", "platformVersion": "1", "totalCapacityMB": 1e30}},
			"facts.totalCapacityMB", "must be a whole number in range, not 1e+30"},
	} {
		r := e.agent("POST", c.path, c.cred, c.body)
		if r.Status != 400 || r.Env.Errors == nil || len(r.Env.Errors.FieldErrors) != 1 {
			t.Errorf("%s: %d %s; want 400 with one field error", c.name, r.Status, r.Body)
			continue
		}
		if f := r.Env.Errors.FieldErrors[0]; f.Field != c.field || f.Message != c.message {
			t.Errorf("%s: %s %q; want %s %q", c.name, f.Field, f.Message, c.field, c.message)
		}
	}
}
