// Package form decodes request bodies into Go structs: JSON, or application/x-www-form-urlencoded with
// the indexed names Ivanti clients send (accounts[0].emailAddress=…). Struct fields are matched by their
// json tag. Every problem comes back as an mdm invalid-input error naming the field.
package form

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"steward/internal/mdm"
)

// MaxBody is the largest body accepted.
const MaxBody = 1 << 20

// maxIndex bounds indexed names so that accounts[99999999].x cannot allocate a huge slice.
const maxIndex = 1000

// Decode reads r's body into dst (a pointer to a struct) by its Content-Type.
func Decode(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := decodeBody(r, dst); err != nil {
		return err
	}
	return checkText(reflect.ValueOf(dst), "")
}

func decodeBody(r *http.Request, dst any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		return decodeJSON(r.Body, dst)
	case "application/x-www-form-urlencoded", "":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return bodyError(err)
		}
		if ct == "" && len(strings.TrimSpace(string(body))) > 0 && strings.TrimSpace(string(body))[0] == '{' {
			return decodeJSON(strings.NewReader(string(body)), dst)
		}
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return mdm.FieldErrors(mdm.FieldError{Code: "Syntax", Field: "body", Message: "malformed form body"})
		}
		return Values(values, dst)
	}
	return mdm.Errorf(mdm.Invalid, "unsupported Content-Type %q: send application/json or application/x-www-form-urlencoded", ct)
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return TooLarge()
	}
	return mdm.Wrap(mdm.Invalid, err, "cannot read request body")
}

// TooLarge is the error for a body over MaxBody. It wraps an *http.MaxBytesError, which the API
// answers with 413.
func TooLarge() error {
	return mdm.Wrap(mdm.Invalid, &http.MaxBytesError{Limit: MaxBody},
		"request body is larger than "+strconv.Itoa(MaxBody)+" bytes (1 MiB)")
}

func decodeJSON(body io.Reader, dst any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.More() {
			return mdm.Errorf(mdm.Invalid, "request body holds more than one JSON value")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: field, Message: "must be " + describe(typeErr.Type)})
	case errors.As(err, &syntaxErr):
		return mdm.FieldErrors(mdm.FieldError{Code: "Syntax", Field: "body",
			Message: "malformed JSON at byte " + strconv.FormatInt(syntaxErr.Offset, 10)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return mdm.FieldErrors(mdm.FieldError{Code: "Unknown", Field: name, Message: "is not a known field"})
	case errors.Is(err, io.EOF):
		return mdm.Errorf(mdm.Invalid, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return mdm.FieldErrors(mdm.FieldError{Code: "Syntax", Field: "body", Message: "JSON ends too early"})
	}
	return bodyError(err)
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.Kind().String()
}

// Values decodes form values with indexed names into dst.
func Values(values url.Values, dst any) error {
	root := reflect.ValueOf(dst)
	if root.Kind() != reflect.Pointer || root.Elem().Kind() != reflect.Struct {
		panic("form: Values needs a pointer to a struct")
	}
	var v mdm.Validator
	for name, vals := range values {
		if len(vals) == 0 {
			continue
		}
		if err := set(root.Elem(), name, name, vals); err != nil {
			v.Check(false, name, err.code, err.msg)
		}
	}
	return v.Err()
}

type fieldErr struct{ code, msg string }

// set walks path (e.g. "accounts[0].emailAddress") from v and assigns vals to what it names.
func set(v reflect.Value, full, path string, vals []string) *fieldErr {
	for path != "" {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
			continue
		case reflect.Struct:
			name, rest := splitName(path)
			f, ok := fieldByTag(v, name)
			if !ok {
				return &fieldErr{"Unknown", "is not a known field"}
			}
			v, path = f, rest
		case reflect.Slice:
			if !strings.HasPrefix(path, "[") {
				return &fieldErr{"Syntax", "needs an index, as in name[0].field"}
			}
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return &fieldErr{"Syntax", "has an unclosed '['"}
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil || i < 0 || i >= maxIndex {
				return &fieldErr{"Range", "index must be between 0 and " + strconv.Itoa(maxIndex-1)}
			}
			if i >= v.Len() {
				v.Set(reflect.AppendSlice(v, reflect.MakeSlice(v.Type(), i+1-v.Len(), i+1-v.Len())))
			}
			v, path = v.Index(i), strings.TrimPrefix(path[end+1:], ".")
			continue
		default:
			return &fieldErr{"Unknown", "is not a known field"}
		}
	}
	return assign(v, vals)
}

func splitName(path string) (name, rest string) {
	i := strings.IndexAny(path, ".[")
	if i < 0 {
		return path, ""
	}
	if path[i] == '.' {
		return path[:i], path[i+1:]
	}
	return path[:i], path[i:]
}

func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// assign sets a scalar (the last value wins) or a slice of scalars (every value, in order).
func assign(v reflect.Value, vals []string) *fieldErr {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		var parts []string
		for _, s := range vals {
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
		}
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := assign(out.Index(i), []string{p}); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	}
	s := vals[len(vals)-1]
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return &fieldErr{"Type", "must be true or false"}
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return &fieldErr{"Type", "must be a whole number"}
		}
		v.SetInt(n)
	default:
		return &fieldErr{"Type", "cannot be set from a form field"}
	}
	return nil
}

// checkText refuses NUL characters and invalid UTF-8 anywhere in the decoded value: no field takes them,
// and PostgreSQL would refuse them.
func checkText(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkText(v.Elem(), path)
		}
	case reflect.String:
		if !mdm.CleanText(v.String()) {
			return mdm.FieldErrors(mdm.FieldError{Code: "Encoding", Field: path, Message: "must be UTF-8 text without NUL characters"})
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := checkText(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if path != "" {
				name = path + "." + name
			}
			if err := checkText(v.Field(i), name); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if err := checkText(k, path); err != nil {
				return err
			}
			if err := checkText(v.MapIndex(k), path+"."+k.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
