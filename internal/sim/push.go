package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// PushHandler receives wake-up pushes in the FCM HTTP v1 shape the server sends:
//
//	POST /v1/projects/{project}/messages:send
//	Authorization: Bearer {key}
//	{"message":{"token":"<device push token>","data":{"steward":"wake"}}}
//
// A known token makes its device check in at once (200 with the message name); an unknown token, or a
// stopped device's, is 404 NOT_FOUND, as FCM answers for an unregistered token; a wrong key is 401.
// With key "" any bearer is accepted.
func (f *Fleet) PushHandler(key string) http.Handler {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", func(w http.ResponseWriter, r *http.Request) {
		if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
			pushError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "the request's credential is not valid")
			return
		}
		var body struct {
			Message struct {
				Token string            `json:"token"`
				Data  map[string]string `json:"data"`
			} `json:"message"`
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil || json.Unmarshal(raw, &body) != nil || body.Message.Token == "" {
			pushError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "want {\"message\":{\"token\":…,\"data\":{…}}}")
			return
		}
		if body.Message.Data["steward"] != "wake" {
			pushError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "the data message is not a Steward wake-up")
			return
		}
		if !f.Wake(body.Message.Token) {
			pushError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"name": fmt.Sprintf("projects/%s/messages/%d", r.PathValue("project"), n.Add(1))})
	})
	return mux
}

func pushError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "status": status, "message": msg}})
}
