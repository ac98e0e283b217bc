package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"steward/internal/fq"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

// MaxRows is the largest page; DefaultRows is the page size when rows is absent.
const (
	MaxRows     = 500
	DefaultRows = 50
)

// listOptions reads start, rows, sortFields[N].name/order, q and fq, checked against fields.
func listOptions(r *http.Request, fields mdm.FieldSet) (mdm.ListOptions, error) {
	q := r.URL.Query()
	opts := mdm.ListOptions{Rows: DefaultRows}
	var v mdm.Validator
	if s := q.Get("start"); s != "" {
		n, err := strconv.Atoi(s)
		v.Check(err == nil && n >= 0 && n <= 1_000_000_000, "start", "Range", "must be a whole number of at least 0")
		opts.Start = n
	}
	if s := q.Get("rows"); s != "" {
		n, err := strconv.Atoi(s)
		v.Check(err == nil && n >= 1 && n <= MaxRows, "rows", "Range", "must be between 1 and 500")
		opts.Rows = n
	}
	for i := 0; ; i++ {
		prefix := "sortFields[" + strconv.Itoa(i) + "]."
		name, order := q.Get(prefix+"name"), q.Get(prefix+"order")
		if name == "" && order == "" {
			break
		}
		field, known := canonical(fields, name)
		v.Check(known, prefix+"name", "Unknown", "cannot sort on "+strconv.Quote(name))
		o := strings.ToUpper(order)
		v.Check(o == "" || o == "ASC" || o == "DESC", prefix+"order", "Enum", "must be ASC or DESC")
		opts.Sort = append(opts.Sort, mdm.SortField{Field: field, Desc: o == "DESC"})
		if i >= 4 {
			break
		}
	}
	opts.Query = q.Get("q")
	v.Check(len(opts.Query) <= 200, "q", "Size", "must be at most 200 characters")
	filter, err := fq.Parse(q.Get("fq"), fields)
	if err != nil {
		v.Check(false, "fq", "Syntax", err.Error())
	}
	opts.Filter = filter
	return opts, v.Err()
}

func canonical(fields mdm.FieldSet, name string) (string, bool) {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return f, true
		}
	}
	return "", false
}

// newestFirst is the default order of logs (audit trail, outbox).
var newestFirst = []mdm.SortField{{Field: "id", Desc: true}}

// listHandler serves a list endpoint: it reads the paging, sort and filter parameters against fields,
// sorts by defaultSort when the request names no order, and renders each item with convert.
func listHandler[T, J any](fields mdm.FieldSet, defaultSort []mdm.SortField,
	list func(context.Context, mdm.ListOptions) (mdm.Page[T], error), convert func(T) J) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		started := time.Now()
		opts, err := listOptions(r, fields)
		if err != nil {
			return err
		}
		if len(opts.Sort) == 0 {
			opts.Sort = defaultSort
		}
		p, err := list(r.Context(), opts)
		if err != nil {
			return err
		}
		return ok(w, listPage(p, started, convert))
	}
}

// searchResult is the Ivanti list page.
type searchResult struct {
	SearchResults any   `json:"searchResults"`
	TotalCount    int   `json:"totalCount"`
	Offset        int   `json:"offset"`
	Limit         int   `json:"limit"`
	QueryTime     int64 `json:"queryTime"`
}

func listPage[T, J any](p mdm.Page[T], started time.Time, convert func(T) J) searchResult {
	items := make([]J, 0, len(p.Items))
	for _, it := range p.Items {
		items = append(items, convert(it))
	}
	return searchResult{SearchResults: items, TotalCount: p.TotalCount, Offset: p.Start, Limit: p.Rows,
		QueryTime: time.Since(started).Milliseconds()}
}

// millis renders a time as epoch milliseconds, the API's timestamp form.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func millisPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

// splitList splits a comma-separated parameter value, dropping empty parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: name, Message: "must be true or false"})
	}
	return b, nil
}

// pathID reads the numeric {id} of the path; anything else names no object of that kind.
func pathID[ID ~int64](r *http.Request, what string) (ID, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0, mdm.Errorf(mdm.NotFound, "%s not found", what)
	}
	return ID(n), nil
}

// getHandler serves GET …/{id}: it fetches the object with get and renders it with convert.
func getHandler[ID ~int64, T, J any](what string, get func(context.Context, ID) (*T, error), convert func(T) J) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID[ID](r, what)
		if err != nil {
			return err
		}
		v, err := get(r.Context(), id)
		if err != nil {
			return err
		}
		return ok(w, convert(*v))
	}
}

// updateHandler serves PUT …/{id}: it decodes the body into In, applies it with update and renders the result.
func updateHandler[ID ~int64, In, T, J any](what string, update func(context.Context, ID, In) (*T, error), convert func(T) J) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID[ID](r, what)
		if err != nil {
			return err
		}
		var in In
		if err := decode(w, r, &in); err != nil {
			return err
		}
		v, err := update(r.Context(), id, in)
		if err != nil {
			return err
		}
		return ok(w, convert(*v))
	}
}
