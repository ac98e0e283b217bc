package fq

import (
	"strings"

	"steward/internal/mdm"
)

// Match evaluates f against one record whose field values value returns (string, int64 or bool, as the
// field set says), with the same meaning the database gives a filter: text compares case-insensitively
// and * is a wildcard for = and !=. A nil filter matches everything.
func Match(f mdm.Filter, value func(field string) any) bool {
	switch f := f.(type) {
	case nil:
		return true
	case mdm.And:
		for _, t := range f {
			if !Match(t, value) {
				return false
			}
		}
		return true
	case mdm.Or:
		for _, t := range f {
			if Match(t, value) {
				return true
			}
		}
		return false
	case mdm.Not:
		return !Match(f.Term, value)
	case mdm.Compare:
		return compare(value(f.Field), f.Op, f.Value)
	}
	return false
}

func compare(got any, op mdm.Op, want any) bool {
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		if !ok {
			return false
		}
		g, w = strings.ToLower(g), strings.ToLower(w)
		switch op {
		case mdm.Contains:
			return strings.Contains(g, w)
		case mdm.StartsWith:
			return strings.HasPrefix(g, w)
		case mdm.EndsWith:
			return strings.HasSuffix(g, w)
		}
		if strings.Contains(w, "*") && (op == mdm.Eq || op == mdm.Ne) {
			return wildcard(w, g) == (op == mdm.Eq)
		}
		return ordered(strings.Compare(g, w), op)
	case int64:
		g, ok := got.(int64)
		if !ok {
			return false
		}
		c := 0
		if g < w {
			c = -1
		} else if g > w {
			c = 1
		}
		return ordered(c, op)
	case bool:
		g, ok := got.(bool)
		if !ok {
			return false
		}
		return (g == w) == (op == mdm.Eq)
	}
	return false
}

// wildcard reports whether s matches pattern, where * stands for any run of characters.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(parts) == 1 && s == "" || len(parts) > 1 && strings.HasSuffix(s, last)
}

func ordered(c int, op mdm.Op) bool {
	switch op {
	case mdm.Eq:
		return c == 0
	case mdm.Ne:
		return c != 0
	case mdm.Lt:
		return c < 0
	case mdm.Le:
		return c <= 0
	case mdm.Gt:
		return c > 0
	case mdm.Ge:
		return c >= 0
	}
	return false
}
