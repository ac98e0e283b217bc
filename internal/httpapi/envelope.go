// Package httpapi is Steward's REST API in the Ivanti Neurons for MDM /api/v1 style: the
// {"errors": …, "result": …} envelope, start/rows paging, fq filters, JSON or indexed form bodies, and an
// OpenAPI 3.1 document generated from the same route table that serves the requests.
package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"steward/internal/mdm"
)

// envelope is the wrapper of every API response.
type envelope struct {
	Errors *errorBody `json:"errors"`
	Result any        `json:"result"`
}

type errorBody struct {
	GlobalErrors []globalError    `json:"globalErrors"`
	FieldErrors  []mdm.FieldError `json:"fieldErrors"`
}

type globalError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[mdm.Code]int{
	mdm.Invalid:         http.StatusBadRequest,
	mdm.Unauthenticated: http.StatusUnauthorized,
	mdm.Forbidden:       http.StatusForbidden,
	mdm.NotFound:        http.StatusNotFound,
	mdm.Conflict:        http.StatusConflict,
	mdm.RateLimited:     http.StatusTooManyRequests,
	mdm.Unavailable:     http.StatusServiceUnavailable,
	mdm.Internal:        http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for err: 413 for a body over its limit (an *http.MaxBytesError
// underneath), else by its code.
func StatusOf(err error) int {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge
	}
	if s, ok := statusOf[mdm.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeJSON writes result in the envelope.
func writeJSON(w http.ResponseWriter, status int, result any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(envelope{Result: result})
}

func ok(w http.ResponseWriter, result any) error { return writeJSON(w, http.StatusOK, result) }

// WriteError writes err in the envelope: field errors for bad input, a global error otherwise. Internal
// errors never show their cause.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if p := mdm.PrincipalFrom(r.Context()); mdm.ErrorCode(err) == mdm.Forbidden && p != nil && p.Kind == mdm.ClientPrincipal {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Steward", error="insufficient_scope"`) // RFC 6750 §3.1
	}
	writeError(w, StatusOf(err), err)
}

// writeError writes err in the envelope with status.
func writeError(w http.ResponseWriter, status int, err error) {
	body := &errorBody{}
	var e *mdm.Error
	code := mdm.ErrorCode(err)
	msg := "internal error"
	if errors.As(err, &e) && code != mdm.Internal {
		msg = e.Message
		body.FieldErrors = e.Fields
	}
	if len(body.FieldErrors) == 0 {
		body.GlobalErrors = []globalError{{Code: string(code), Message: msg}}
	}
	if code == mdm.Unauthenticated && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="Steward", charset="UTF-8"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(envelope{Errors: body})
}
