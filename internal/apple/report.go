package apple

import (
	"fmt"

	"steward/internal/mdm"
)

// Connect report statuses.
const (
	StatusIdle               = "Idle"
	StatusAcknowledged       = "Acknowledged"
	StatusError              = "Error"
	StatusCommandFormatError = "CommandFormatError"
	StatusNotNow             = "NotNow"
)

// ErrorChainItem is one entry of a report's ErrorChain. LocalizedDescription is in the device's
// language; devices also send USEnglishDescription, which the error text prefers.
type ErrorChainItem struct {
	ErrorCode            int64  `plist:"ErrorCode"`
	ErrorDomain          string `plist:"ErrorDomain"`
	LocalizedDescription string `plist:"LocalizedDescription"`
	USEnglishDescription string `plist:"USEnglishDescription"`
}

// Report is a device's message on the command channel: Idle (ready for a command) or its answer to
// the command CommandUUID. Raw keeps the body for the result parsers.
type Report struct {
	UDID        string           `plist:"UDID"`
	Status      string           `plist:"Status"`
	CommandUUID string           `plist:"CommandUUID"`
	ErrorChain  []ErrorChainItem `plist:"ErrorChain"`
	// UserID is set on the user channel's messages (a user enrollment or a Shared iPad user).
	UserID string `plist:"UserID"`
	Raw    []byte `plist:"-"`
}

// DecodeReport decodes a report body (XML or binary plist, at most MaxBody bytes). Errors are
// mdm.Error with code invalid.
func DecodeReport(body []byte) (*Report, error) {
	var r Report
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if r.UDID == "" {
		return nil, mdm.Errorf(mdm.Invalid, "the report has no UDID")
	}
	switch r.Status {
	case StatusIdle:
	case StatusAcknowledged, StatusError, StatusCommandFormatError, StatusNotNow:
		if r.CommandUUID == "" {
			return nil, mdm.Errorf(mdm.Invalid, "the %s report has no CommandUUID", r.Status)
		}
	case "":
		return nil, mdm.Errorf(mdm.Invalid, "the report has no Status")
	default:
		return nil, mdm.Errorf(mdm.Invalid, "report status %q is not known", clip(r.Status))
	}
	r.Raw = body
	return &r, nil
}

// Result maps an answer to a queued command to the queue's result: ok is false for Idle. The error
// text is the device's error chain; Result is left to the caller (a bounded form of Raw or what a
// result parser made of it). A CommandUUID that is not one of ours is an invalid error.
func (r *Report) Result() (res mdm.CommandResult, ok bool, err error) {
	var status string
	switch r.Status {
	case StatusAcknowledged:
		status = mdm.CmdAcknowledged
	case StatusError, StatusCommandFormatError:
		status = mdm.CmdError
	case StatusNotNow:
		status = mdm.CmdNotNow
	default:
		return mdm.CommandResult{}, false, nil
	}
	id, err := ParseCommandUUID(r.CommandUUID)
	if err != nil {
		return mdm.CommandResult{}, false, err
	}
	res = mdm.CommandResult{ID: id, Status: status}
	if status == mdm.CmdError {
		res.Error = r.errorText()
	}
	return res, true, nil
}

// errorText joins the error chain, most specific first as the device sends it, in US English when
// the device gave it.
func (r *Report) errorText() string {
	if len(r.ErrorChain) == 0 {
		return r.Status
	}
	s := ""
	for i, e := range r.ErrorChain {
		if i > 0 {
			s += "; "
		}
		text := e.USEnglishDescription
		if text == "" {
			text = e.LocalizedDescription
		}
		s += fmt.Sprintf("%s %d: %s", e.ErrorDomain, e.ErrorCode, text)
	}
	return s
}
