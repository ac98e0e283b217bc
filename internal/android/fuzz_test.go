package android

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"steward/internal/mdm"
)

// FuzzAgentRequest sends arbitrary bodies to the three operations that read one (register, check-in,
// command result). Whatever the body, the answer is a success or invalid input with a message: never
// a panic, an internal error or an error without a code.
func FuzzAgentRequest(f *testing.F) {
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{"username":"ann@example.com","pin":"123456","facts":{"deviceModel":"Pixel 8","osVersion":"15"},"apps":[{"appId":"a","name":"A","version":"1"}]}`},
		{0, `{"username":"","facts":{"totalCapacityMB":-1}}`},
		{0, `{"username":"x","apps":[{"appId":""},{"appId":5}]}`},
		{1, `{"facts":{"deviceModel":"x","rooted":true},"pushToken":"t","results":[{"id":1,"status":"ACKNOWLEDGED","result":"ok"}]}`},
		{1, `{"results":[{"id":0,"status":"NOPE"},{"id":"x"}]}`},
		{1, `{"facts":{"totalCapacityMB":1e30}}`},
		{1, `{} {}`},
		{1, `[1]`},
		{2, `{"id":7,"status":"ERROR","error":"failed"}`},
		{2, `{"id":8,"status":"ACKNOWLEDGED"}`},
		{2, `{"status":"NOT_NOW","result":"\u0000"}`},
		{2, ``},
		{2, `{"status":`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	h := NewHandler(&fakeDevices{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		var req *http.Request
		var call func(http.ResponseWriter, *http.Request) error
		switch op % 3 {
		case 0:
			req, call = httptest.NewRequest("POST", "/api/agent/v1/register", bytes.NewReader(body)), h.Register
		case 1:
			req, call = httptest.NewRequest("POST", "/api/agent/v1/checkin", bytes.NewReader(body)), h.Checkin
		default:
			req, call = httptest.NewRequest("PUT", "/api/agent/v1/commands/7", bytes.NewReader(body)), h.Acknowledge
			req.SetPathValue("id", "7")
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer good")
		w := httptest.NewRecorder()
		err := call(w, req)
		if err == nil {
			if w.Code >= 500 {
				t.Fatalf("status %d for %q", w.Code, body)
			}
			return
		}
		var e *mdm.Error
		if !errors.As(err, &e) || e.Code != mdm.Invalid || e.Message == "" && len(e.Fields) == 0 {
			t.Fatalf("%q: error %v (%T), want invalid input with a message", body, err, err)
		}
		for _, fe := range e.Fields {
			if fe.Field == "" || fe.Message == "" {
				t.Fatalf("%q: field error without a field or message: %+v", body, fe)
			}
		}
	})
}
