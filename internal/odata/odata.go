// Package odata reads the OData-style query options of the Data Services API ($top, $skip, $select,
// $orderby, $count, $filter) against an entity's properties, and turns them into the mdm.ListOptions the
// stores already run in SQL:
//
//	$filter=contains(DeviceName,'pixel') and (OS/Version eq '15' or not Compliant eq true)
//	$orderby=LastSeen desc&$top=50&$select=DiscoveryId,DeviceName,OS
//
// $filter knows eq ne gt ge lt le, contains/startswith/endswith(Property,'text'), and, or, not and
// parentheses; literals are 'strings' (a quote doubled inside), numbers, true, false, null and
// date-times (2025-01-31T12:00:00Z). Property names are matched case-insensitively; nested properties
// are paths (OS/Version). Text compares case-insensitively, as everywhere in Steward.
//
// Every error is an mdm invalid-input error with one field error naming the option; a syntax error
// names the 1-based character position and what was expected there.
package odata

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"steward/internal/mdm"
)

// Page sizes: $top is 1 to MaxTop, DefaultTop when absent.
const (
	DefaultTop = 20
	MaxTop     = 100
	maxSkip    = 1_000_000_000
	maxOrderBy = 4
)

// Property is a filterable, sortable property path of an entity and the store field it stands for.
type Property struct {
	Field string // the mdm field name (a key of the store's FieldSet)
	Kind  mdm.FieldKind
}

// Entity describes what a query may name: Select lists the top-level properties (in output order),
// Paths the property paths $filter and $orderby may use.
type Entity struct {
	Name   string
	Select []string
	Paths  map[string]Property
}

// Query is a parsed, validated request.
type Query struct {
	Top     int
	Skip    int
	Select  []string // canonical top-level names, in the entity's order; nil: every property
	OrderBy []mdm.SortField
	Count   bool // include @odata.count (default true)
	Filter  mdm.Filter
}

// ListOptions is the store request for q.
func (q Query) ListOptions() mdm.ListOptions {
	return mdm.ListOptions{Start: q.Skip, Rows: q.Top, Sort: q.OrderBy, Filter: q.Filter}
}

// Selected reports whether the top-level property name is to be returned.
func (q Query) Selected(name string) bool { return q.Select == nil || slices.Contains(q.Select, name) }

// options are the system query options this package knows; any other $option is refused.
var options = []string{"$top", "$skip", "$select", "$orderby", "$count", "$filter"}

// Parse reads the query options of values for e. Parameters not starting with $ are ignored.
func Parse(values url.Values, e *Entity) (Query, error) {
	q := Query{Top: DefaultTop, Count: true}
	var v mdm.Validator
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vals := values[name]
		if !strings.HasPrefix(name, "$") {
			continue
		}
		switch {
		case !slices.Contains(options, name):
			v.Check(false, name, "Unknown", fmt.Sprintf("%s: unsupported query option (supported: %s)", name, strings.Join(options, ", ")))
		case len(vals) > 1:
			v.Check(false, name, "Repeated", name+": given more than once")
		}
	}
	if s, ok := one(values, "$top"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		v.Check(err == nil && n >= 1 && n <= MaxTop, "$top", "Range", fmt.Sprintf("$top: must be a whole number from 1 to %d", MaxTop))
		q.Top = n
	}
	if s, ok := one(values, "$skip"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		v.Check(err == nil && n >= 0 && n <= maxSkip, "$skip", "Range", "$skip: must be a whole number of at least 0")
		q.Skip = n
	}
	if s, ok := one(values, "$count"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		v.Check(err == nil, "$count", "Type", "$count: must be true or false")
		if err == nil {
			q.Count = b
		}
	}
	if s, ok := one(values, "$select"); ok {
		sel, err := parseSelect(s, e)
		v.Add("$select", "Unknown", err)
		q.Select = sel
	}
	if s, ok := one(values, "$orderby"); ok {
		ob, err := parseOrderBy(s, e)
		v.Add("$orderby", "Syntax", err)
		q.OrderBy = ob
	}
	if s, ok := one(values, "$filter"); ok {
		f, err := ParseFilter(s, e)
		if err != nil {
			v.Add("$filter", "Syntax", fmt.Errorf("$filter: %w", err))
		}
		q.Filter = f
	}
	return q, v.Err()
}

func one(values url.Values, name string) (string, bool) {
	vals, ok := values[name]
	if !ok || len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}

// selectable finds a top-level property case-insensitively.
func (e *Entity) selectable(name string) (string, bool) {
	for _, p := range e.Select {
		if strings.EqualFold(p, name) {
			return p, true
		}
	}
	return "", false
}

// path finds a filterable property path case-insensitively and returns its canonical spelling.
func (e *Entity) path(name string) (string, Property, bool) {
	if p, ok := e.Paths[name]; ok {
		return name, p, true
	}
	for n, p := range e.Paths {
		if strings.EqualFold(n, name) {
			return n, p, true
		}
	}
	return "", Property{}, false
}

// PathNames lists the filterable property paths, sorted.
func (e *Entity) PathNames() []string {
	names := make([]string, 0, len(e.Paths))
	for n := range e.Paths {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func parseSelect(s string, e *Entity) ([]string, error) {
	if strings.TrimSpace(s) == "*" {
		return nil, nil
	}
	want := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, fmt.Errorf("$select: empty property name in %q", s)
		}
		p, ok := e.selectable(name)
		if !ok {
			hint := ""
			if strings.Contains(name, "/") {
				hint = " (select a nested object by its top-level name)"
			}
			return nil, fmt.Errorf("$select: unknown property %q%s; %s has %s", name, hint, e.Name, strings.Join(e.Select, ", "))
		}
		want[p] = true
	}
	var out []string
	for _, p := range e.Select {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func parseOrderBy(s string, e *Entity) ([]mdm.SortField, error) {
	var out []mdm.SortField
	for _, part := range strings.Split(s, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 {
			return nil, fmt.Errorf("$orderby: expected 'Property [asc|desc]' in %q", strings.TrimSpace(part))
		}
		_, p, ok := e.path(words[0])
		if !ok {
			return nil, fmt.Errorf("$orderby: unknown property %q; %s sorts on %s", words[0], e.Name, strings.Join(e.PathNames(), ", "))
		}
		desc := false
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				desc = true
			default:
				return nil, fmt.Errorf("$orderby: expected asc or desc after %s but found %q", words[0], words[1])
			}
		}
		if len(out) == maxOrderBy {
			return nil, fmt.Errorf("$orderby: at most %d properties", maxOrderBy)
		}
		out = append(out, mdm.SortField{Field: p.Field, Desc: desc})
	}
	return out, nil
}

// NextLink is the URL of the page after q's (base + path with values, $skip advanced and every other
// parameter kept), or "" when the page returned reaches the end of total matching rows.
func NextLink(base, path string, values url.Values, q Query, returned, total int) string {
	next := q.Skip + returned
	if returned == 0 || next >= total {
		return ""
	}
	v := url.Values{}
	for k, vals := range values {
		v[k] = slices.Clone(vals)
	}
	v.Set("$skip", strconv.Itoa(next))
	if _, ok := v["$top"]; !ok {
		v.Set("$top", strconv.Itoa(q.Top))
	}
	// '$' needs no escaping in a query; keeping it literal keeps the link readable ($skip=40).
	return strings.TrimRight(base, "/") + path + "?" + strings.ReplaceAll(v.Encode(), "%24", "$")
}
