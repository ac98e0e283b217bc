package android

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"steward/internal/devices"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

// MaxBody is the largest request body the agent may send (413 beyond it).
const MaxBody = 1 << 20

// BearerChallenge is the WWW-Authenticate value of a 401: the agent presents its device credential.
const BearerChallenge = `Bearer realm="Steward agent"`

// Devices is what the protocol needs from the devices service (devices.Service implements it).
type Devices interface {
	Register(ctx context.Context, r devices.Registration) (*devices.Registered, error)
	AuthenticateDevice(ctx context.Context, credential string) (*mdm.Device, error)
	CheckIn(ctx context.Context, d *mdm.Device, c devices.CheckIn) (*devices.CheckInReply, error)
	FetchCommands(ctx context.Context, d *mdm.Device, limit int) ([]mdm.Command, error)
	Acknowledge(ctx context.Context, d *mdm.Device, r mdm.CommandResult) error
}

// Handler serves the agent protocol. Its methods are the four operations; the API's route table serves
// them (httpapi/agent.go), so that they share its error envelope and appear in the OpenAPI document.
//
// Bodies are JSON only (415 otherwise), at most MaxBody bytes (413). Fields the server does not know
// are ignored, so that an agent newer than the server still talks protocol version 1 to it.
type Handler struct {
	devices Devices
	log     *slog.Logger
}

// NewHandler returns the protocol handler.
func NewHandler(d Devices, log *slog.Logger) *Handler { return &Handler{devices: d, log: log} }

// DefaultFetchLimit is how many commands GET /commands returns when the agent names no limit.
const DefaultFetchLimit = 10

// Register registers a device (201).
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) error {
	var in RegisterRequest
	if done, err := readJSON(w, r, &in); done || err != nil {
		return err
	}
	if err := validateRegister(in); err != nil {
		return err
	}
	reg, err := h.devices.Register(r.Context(), registrationIn(in))
	if err != nil {
		if mdm.IsCode(err, mdm.Unauthenticated) {
			w.Header().Set("WWW-Authenticate", BearerChallenge) // every 401 of the protocol carries its own challenge
		}
		return err
	}
	httpx.SetTenant(r, reg.Device.TenantID)
	return writeResult(w, http.StatusCreated, registeredOut(reg))
}

// Checkin records a check-in and answers with the due commands.
func (h *Handler) Checkin(w http.ResponseWriter, r *http.Request) error {
	d, err := h.device(w, r)
	if err != nil {
		return err
	}
	var in CheckinRequest
	if done, err := readJSON(w, r, &in); done || err != nil {
		return err
	}
	if err := validateCheckin(in); err != nil {
		return err
	}
	reply, err := h.devices.CheckIn(r.Context(), d, checkinIn(in))
	if err != nil {
		return err
	}
	return writeResult(w, http.StatusOK, replyOut(reply))
}

// Commands returns the due commands (now marked sent); ?limit=1…100.
func (h *Handler) Commands(w http.ResponseWriter, r *http.Request) error {
	d, err := h.device(w, r)
	if err != nil {
		return err
	}
	limit := DefaultFetchLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return mdm.FieldErrors(mdm.FieldError{Code: "Range", Field: "limit", Message: "must be between 1 and 100"})
		}
		limit = n
	}
	cmds, err := h.devices.FetchCommands(r.Context(), d, limit)
	if err != nil {
		return err
	}
	return writeResult(w, http.StatusOK, CommandsResponse{Commands: commandsOut(cmds)})
}

// Acknowledge stores the device's answer to command {id}. The body's id may be omitted; when given it
// must be the path's.
func (h *Handler) Acknowledge(w http.ResponseWriter, r *http.Request) error {
	d, err := h.device(w, r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return mdm.Errorf(mdm.NotFound, "command not found")
	}
	var in CommandResult
	if done, err := readJSON(w, r, &in); done || err != nil {
		return err
	}
	if in.ID != 0 && in.ID != id {
		return mdm.FieldErrors(mdm.FieldError{Code: "Mismatch", Field: "id", Message: "must be the command id of the path"})
	}
	in.ID = id
	var v mdm.Validator
	checkResult(&v, "", in)
	if err := v.Err(); err != nil {
		return err
	}
	if err := h.devices.Acknowledge(r.Context(), d, resultIn(in)); err != nil {
		return err
	}
	return writeResult(w, http.StatusOK, struct{}{})
}

// Device authenticates the caller by its Bearer device credential, for agent routes served outside
// this package (content downloads, the app catalog): it answers as the protocol's own operations do.
func (h *Handler) Device(w http.ResponseWriter, r *http.Request) (*mdm.Device, error) {
	return h.device(w, r)
}

// device authenticates the caller by its Bearer device credential. Every refusal carries the Bearer
// challenge, whatever the reason (absent, malformed, unknown, retired or wiped).
func (h *Handler) device(w http.ResponseWriter, r *http.Request) (*mdm.Device, error) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	if !strings.EqualFold(scheme, "Bearer") || cred == "" || len(cred) > 512 {
		w.Header().Set("WWW-Authenticate", BearerChallenge)
		return nil, mdm.Errorf(mdm.Unauthenticated, "a device credential is required: Authorization: Bearer <credential>")
	}
	d, err := h.devices.AuthenticateDevice(r.Context(), cred)
	if err != nil {
		if mdm.IsCode(err, mdm.Unauthenticated) {
			w.Header().Set("WWW-Authenticate", BearerChallenge)
		}
		return nil, err
	}
	httpx.SetTenant(r, d.TenantID)
	return d, nil
}

// readJSON decodes the JSON body into dst. It answers 415 and 413 itself (done is then true), and
// returns bad JSON as invalid input naming the field.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) (done bool, err error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return true, writeProblem(w, http.StatusUnsupportedMediaType, "invalid",
			"the agent protocol takes application/json bodies")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return true, writeProblem(w, http.StatusRequestEntityTooLarge, "invalid",
			"the request body is larger than "+strconv.Itoa(MaxBody)+" bytes")
	case err != nil:
		return false, mdm.Wrap(mdm.Invalid, err, "cannot read the request body")
	}
	return false, decodeJSON(body, dst)
}

// writeResult writes result in the API envelope.
func writeResult(w http.ResponseWriter, status int, result any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(map[string]any{"errors": nil, "result": result})
}

// writeProblem writes a global error in the envelope, for the statuses the error codes do not name.
func writeProblem(w http.ResponseWriter, status int, code, message string) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(map[string]any{"result": nil, "errors": map[string]any{
		"globalErrors": []map[string]string{{"code": code, "message": message}}, "fieldErrors": nil}})
}
