// Package mdm is Steward's domain vocabulary: the entities every capability shares, their typed IDs,
// the error type, the caller's identity, paging and filtering, and the narrow store interfaces.
// It depends on the standard library only.
package mdm

import (
	"errors"
	"fmt"
)

// Code classifies an error for clients. Exactly one table (httpapi) maps codes to HTTP statuses.
type Code string

const (
	Invalid         Code = "invalid"
	Unauthenticated Code = "unauthenticated"
	Forbidden       Code = "forbidden"
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"
	RateLimited     Code = "rate_limited"
	Unavailable     Code = "unavailable"
	Internal        Code = "internal"
)

// FieldError names one bad input field, in the shape of the Ivanti fieldErrors list.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// Error is the one error type that crosses package boundaries. Message is safe to show to a client;
// Err is the cause, for logs only.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Message
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap marks err with a code and a client-safe message, keeping err as the logged cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// FieldErrors builds an invalid-input error from one or more field errors.
func FieldErrors(fields ...FieldError) *Error {
	msg := "invalid input"
	if len(fields) > 0 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Code: Invalid, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the first mdm.Error in err's chain, Internal for anything else.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Message is what a client may be told about err: its safe message, or "internal error".
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}

// ConflictOn names field as the cause of a uniqueness conflict, so that clients can show it there;
// other errors pass through unchanged.
func ConflictOn(err error, field string) error {
	if !IsCode(err, Conflict) {
		return err
	}
	msg := Message(err)
	return &Error{Code: Conflict, Message: msg, Err: err, Fields: []FieldError{{Code: "Conflict", Field: field, Message: msg}}}
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }

// Validator collects field errors so that a request reports every bad field at once.
type Validator struct{ fields []FieldError }

// Check records a field error with code and message unless ok holds.
func (v *Validator) Check(ok bool, field, code, message string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Code: code, Message: message, Field: field})
	}
}

// Add records err (when it is not nil) against field.
func (v *Validator) Add(field, code string, err error) {
	if err != nil {
		v.Check(false, field, code, err.Error())
	}
}

// Err returns the collected errors as one invalid-input Error, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return FieldErrors(v.fields...)
}
