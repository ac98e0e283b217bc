package mail

import (
	htmltemplate "html/template"
	"reflect"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkSecretStandsAlone checks the sanitized HTML content for what checkSecretUse checks in the
// source: each time the secret shows as text, nothing is glued to it. The allowlist can drop a tag
// that stood between a web address and the secret (an <a> whose address is not absolute loses its
// tag and keeps its text), so the source alone does not prove it. In an attribute the secret may
// only be a whole href, which the layout's helpers write.
func (s *set) checkSecretStandsAlone(html string, data any) error {
	if s.secret == "" {
		return nil
	}
	v := reflect.ValueOf(data).FieldByName(s.secret).String()
	for _, shown := range []string{v, htmltemplate.HTMLEscapeString(v)} {
		if shown == "" {
			continue
		}
		for i := 0; ; {
			j := strings.Index(html[i:], shown)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(shown)
			if !gapBefore(html[:start]) || !gapAfter(html[end:]) {
				if !(strings.HasSuffix(html[:start], `href="`) && strings.HasPrefix(html[end:], `"`)) {
					return &secretPlacementError{msg: "{{." + s.secret + "}} must stand alone: once disallowed markup is removed, text is glued to it"}
				}
			}
			i = end
		}
	}
	return nil
}

// gapBefore reports whether the text before a secret ends its word: the start, white space, or a
// block-level tag. Inline tags (<b>, <span>, …) show no gap, so they are looked through: a mail client
// sees "https://evil.example/?u=<b>SECRET" as one run of text and may link it whole.
func gapBefore(s string) bool {
	for {
		if m := trailingTag.FindStringSubmatch(s); m != nil {
			if !inlineTags[strings.ToLower(m[1])] {
				return true
			}
			s = s[:len(s)-len(m[0])]
			continue
		}
		r, _ := utf8.DecodeLastRuneInString(s)
		return s == "" || unicode.IsSpace(r)
	}
}

// gapAfter is gapBefore for the text after a secret.
func gapAfter(s string) bool {
	for {
		if m := leadingTag.FindStringSubmatch(s); m != nil {
			if !inlineTags[strings.ToLower(m[1])] {
				return true
			}
			s = s[len(m[0]):]
			continue
		}
		r, _ := utf8.DecodeRuneInString(s)
		return s == "" || unicode.IsSpace(r)
	}
}

var (
	trailingTag = regexp.MustCompile(`</?([a-zA-Z][a-zA-Z0-9]*)[^<>]*>$`)
	leadingTag  = regexp.MustCompile(`^</?([a-zA-Z][a-zA-Z0-9]*)[^<>]*>`)
	// inlineTags are the allowlisted elements that do not break a run of text.
	inlineTags = map[string]bool{"a": true, "b": true, "strong": true, "em": true, "i": true, "u": true,
		"small": true, "big": true, "span": true, "font": true, "code": true}
)
