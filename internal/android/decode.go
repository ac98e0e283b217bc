package android

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"steward/internal/mdm"
)

// decodeJSON decodes one JSON value into dst. A value of the wrong type is refused naming its wire
// path (results[1].id) and the JSON type expected, never a Go type.
func decodeJSON(body []byte, dst any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return mdm.Errorf(mdm.Invalid, "the request body is empty")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	err := dec.Decode(dst)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		if dec.More() {
			return mdm.Errorf(mdm.Invalid, "the request body holds more than one JSON value")
		}
		return nil
	case errors.As(err, &typeErr):
		return mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: wirePath(body, typeErr),
			Message: "must be " + jsonType(typeErr.Type, typeErr.Value)})
	case errors.As(err, &syntaxErr):
		return mdm.FieldErrors(mdm.FieldError{Code: "Syntax", Field: "body",
			Message: "malformed JSON at byte " + strconv.FormatInt(syntaxErr.Offset, 10)})
	}
	return mdm.FieldErrors(mdm.FieldError{Code: "Syntax", Field: "body", Message: "malformed JSON"})
}

// jsonType names what a Go type takes in JSON; got is the decoder's description of the value sent
// ("string", "number 1e30").
func jsonType(t reflect.Type, got string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := strings.CutPrefix(got, "number "); ok {
			return "a whole number in range, not " + n
		}
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "another JSON type"
}

// wirePath names the value a type error is about by its wire path, with the array indices the
// decoder leaves out: it follows the error's dotted path through the body and takes the first value
// there of the kind the decoder refused. "body" is the whole body.
func wirePath(body []byte, e *json.UnmarshalTypeError) string {
	if e.Field == "" {
		return "body"
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if dec.Decode(&v) == nil {
		kind, _, _ := strings.Cut(e.Value, " ")
		if p, ok := locate(v, strings.Split(e.Field, "."), kind); ok {
			return strings.TrimPrefix(p, ".")
		}
	}
	return e.Field
}

// locate finds the first value of kind along names in v, stepping through arrays, and returns its path.
func locate(v any, names []string, kind string) (string, bool) {
	switch v := v.(type) {
	case []any:
		if len(names) == 0 && kind == "array" {
			return "", true
		}
		for i, el := range v {
			if p, ok := locate(el, names, kind); ok {
				return "[" + strconv.Itoa(i) + "]" + p, true
			}
		}
		return "", false
	case map[string]any:
		if len(names) == 0 {
			return "", kind == "object"
		}
		child, ok := v[names[0]]
		if !ok { // the decoder matches keys regardless of case
			for k, c := range v {
				if strings.EqualFold(k, names[0]) {
					child, ok = c, true
					break
				}
			}
		}
		if !ok {
			return "", false
		}
		p, ok := locate(child, names[1:], kind)
		return "." + names[0] + p, ok
	}
	if len(names) > 0 {
		return "", false
	}
	switch v.(type) {
	case string:
		return "", kind == "string"
	case json.Number:
		return "", kind == "number"
	case bool:
		return "", kind == "bool"
	}
	return "", false
}
