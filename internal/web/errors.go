package web

import (
	"errors"
	"net/http"

	"steward/internal/httpapi"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

// statusOf is the API's one code → status table.
func statusOf(err error) int { return httpapi.StatusOf(err) }

// errorView is what the error page shows.
type errorView struct {
	Status    int
	Heading   string
	Message   string
	RequestID string
	SignIn    bool // offer the sign-in page rather than the console
}

// WriteError answers a console (non-API) request that failed with an HTML page, or for an htmx request
// with a message swapped into the page's flash area. The status comes from the error's code; internal
// errors never show their cause.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	v := errorView{Status: status, Heading: headings[status], Message: "Something went wrong on our side. Please try again.",
		RequestID: mdm.RequestIDFrom(r.Context())}
	if v.Heading == "" {
		v.Heading = http.StatusText(status)
	}
	var e *mdm.Error
	if errors.As(err, &e) && e.Code != mdm.Internal && e.Message != "" {
		v.Message = sentence(e.Message) + "."
	}
	p := consoleUser(r)
	v.SignIn = p == nil
	if p == nil && status == http.StatusForbidden && r.Header.Get("Authorization") == "" {
		// The session was refused before any page ran (its tenant is suspended): forget the cookie, so
		// that the next visit reaches the sign-in page instead of this one again.
		if _, cerr := r.Cookie(httpx.SessionCookie); cerr == nil {
			http.SetCookie(w, expiredSessionCookie(r.TLS != nil))
		}
	}
	if isHTMX(r) {
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		if fragment(w, status, "error", "alert", flash{Kind: "error", Text: v.Message}) != nil {
			http.Error(w, v.Message, status)
		}
		return
	}
	if render(w, r, status, "error", page{Title: v.Heading, Data: v}) != nil {
		http.Error(w, v.Message, status)
	}
}

var headings = map[int]string{
	http.StatusBadRequest:          "That did not work",
	http.StatusUnauthorized:        "Please sign in",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Not found",
	http.StatusConflict:            "Conflict",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusServiceUnavailable:  "Temporarily unavailable",
	http.StatusInternalServerError: "Something went wrong",
}
