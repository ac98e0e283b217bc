package policy

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"steward/internal/mdm"
)

func evaluate(r *Rule, in Input) (bool, error) {
	if r == nil || r.root == nil {
		return false, errors.New("policy: evaluating a nil rule")
	}
	if r.time && in.Now.IsZero() {
		return false, errors.New("policy: the rule measures time from now, but Input.Now is zero")
	}
	return eval(r.root, &in), nil
}

func eval(n node, in *Input) bool {
	switch n := n.(type) {
	case and:
		for _, x := range n {
			if !eval(x, in) {
				return false
			}
		}
		return true
	case or:
		for _, x := range n {
			if eval(x, in) {
				return true
			}
		}
		return false
	case not:
		return !eval(n.x, in)
	case *pred:
		return n.eval(in)
	}
	return false
}

func findApp(in *Input, id string) *mdm.InstalledApp {
	for i := range in.Apps {
		if in.Apps[i].AppID == id {
			return &in.Apps[i]
		}
	}
	return nil
}

// text returns the operand's value as text (text and version fields, custom attributes, app
// versions), and whether it is present. Booleans, numbers and times are read by eval directly.
func (o operand) text(in *Input) (string, bool) {
	var s string
	switch o.kind {
	case opCustom:
		s = in.CustomAttributes[o.name]
	case opAppVersion:
		if a := findApp(in, o.name); a != nil {
			s = a.Version
		}
	default:
		s = o.field.text(in)
	}
	return s, s != ""
}

func (pr *pred) eval(in *Input) bool {
	left := pr.left
	if left.kind == opApp {
		return (findApp(in, left.name) != nil) != pr.neg
	}
	if left.kind == opField {
		switch f := left.field; f.typ {
		case tyBool:
			return (f.boolean(in) == pr.vals[0].b) == (pr.op == "=")
		case tyNumber:
			n := f.num(in)
			if pr.op == opExists {
				return (n != 0) != pr.neg
			}
			return n != 0 && pr.matchNumber(n)
		case tyTime:
			t := f.time(in)
			switch pr.op {
			case opExists:
				return !t.IsZero() != pr.neg
			case opOlderThan:
				return !t.IsZero() && in.Now.Sub(t) > pr.vals[0].dur
			case opWithin:
				return !t.IsZero() && in.Now.Sub(t) <= pr.vals[0].dur
			}
			return false
		}
	}
	s, ok := left.text(in)
	if pr.op == opExists {
		return ok != pr.neg
	}
	if !ok {
		return false
	}
	switch pr.as {
	case tyText:
		return pr.matchText(s)
	case tyVersion:
		v, ok := versionBody(s)
		return ok && pr.matchVersion(v)
	case tyNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return err == nil && pr.matchNumber(n)
	case tyBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		return err == nil && (b == pr.vals[0].b) == (pr.op == "=")
	}
	return false
}

// match applies the operator to cmp, which compares the value with one literal (-1, 0, 1).
func (pr *pred) match(cmp func(v *literal) int) bool {
	if pr.op == opIn {
		for i := range pr.vals {
			if cmp(&pr.vals[i]) == 0 {
				return !pr.neg
			}
		}
		return pr.neg
	}
	c := cmp(&pr.vals[0])
	switch pr.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func (pr *pred) matchText(s string) bool {
	switch pr.op {
	case opContains:
		return strings.Contains(strings.ToLower(s), pr.vals[0].str)
	case opStartsWith:
		return strings.HasPrefix(strings.ToLower(s), pr.vals[0].str)
	case opEndsWith:
		return strings.HasSuffix(strings.ToLower(s), pr.vals[0].str)
	case "=", "!=", opIn:
		return pr.match(func(v *literal) int {
			if strings.EqualFold(s, v.text) {
				return 0
			}
			return 1
		})
	}
	low := strings.ToLower(s)
	return pr.match(func(v *literal) int { return strings.Compare(low, v.str) })
}

func (pr *pred) matchVersion(s string) bool {
	return pr.match(func(v *literal) int { return compareVersions(s, v.str) })
}

func (pr *pred) matchNumber(n float64) bool {
	return pr.match(func(v *literal) int {
		switch {
		case n < v.num:
			return -1
		case n > v.num:
			return 1
		}
		return 0
	})
}

func changed(a, b Input) []string {
	var out []string
	for _, f := range fieldDefs {
		var same bool
		switch f.typ {
		case tyText, tyVersion:
			same = f.text(&a) == f.text(&b)
		case tyBool:
			same = f.boolean(&a) == f.boolean(&b)
		case tyNumber:
			same = f.num(&a) == f.num(&b)
		case tyTime:
			same = f.time(&a).Equal(f.time(&b))
		}
		if !same {
			out = append(out, f.name)
		}
	}
	for k, v := range a.CustomAttributes {
		if w, ok := b.CustomAttributes[k]; !ok || w != v {
			out = append(out, "custom."+k)
		}
	}
	for k := range b.CustomAttributes {
		if _, ok := a.CustomAttributes[k]; !ok {
			out = append(out, "custom."+k)
		}
	}
	apps := func(in Input) map[string]string {
		m := make(map[string]string, len(in.Apps))
		for _, x := range in.Apps {
			if _, dup := m[x.AppID]; !dup {
				m[x.AppID] = x.Version
			}
		}
		return m
	}
	aa, ba := apps(a), apps(b)
	for id, v := range aa {
		if w, ok := ba[id]; !ok || w != v {
			out = append(out, "app."+id)
		}
	}
	for id := range ba {
		if _, ok := aa[id]; !ok {
			out = append(out, "app."+id)
		}
	}
	sort.Strings(out)
	return out
}
