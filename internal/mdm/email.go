package mdm

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// CleanText is true for text Steward accepts from outside: valid UTF-8 without NUL characters.
// PostgreSQL refuses anything else, and no field needs it.
func CleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// ParseEmail checks that s is a bare email address as Steward accepts it for usernames and recipients,
// and returns it with the domain lower-cased.
//
// The rules (also in the OpenAPI description): local-part@domain, no display name, no comments, no
// quoted local parts; at most 254 characters, local part at most 64. The local part is a dot-atom of
// letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ with no leading, trailing or doubled period.
// The domain has at least two labels of letters, digits and hyphens (no leading or trailing hyphen, at
// most 63 each) and a top-level label of at least two letters.
func ParseEmail(s string) (string, error) {
	if s == "" {
		return "", errors.New("is required")
	}
	if len(s) > 254 {
		return "", errors.New("must be at most 254 characters")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", errors.New("must be an email address (name@example.com)")
	}
	local, domain := s[:at], s[at+1:]
	if err := checkLocalPart(local); err != nil {
		return "", err
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	return local + "@" + strings.ToLower(domain), nil
}

func checkLocalPart(local string) error {
	switch {
	case local == "":
		return errors.New("has nothing before the @")
	case len(local) > 64:
		return errors.New("local part must be at most 64 characters")
	case strings.HasPrefix(local, "."):
		return errors.New("local part must not start with a period")
	case strings.HasSuffix(local, "."):
		return errors.New("local part must not end with a period")
	case strings.Contains(local, ".."):
		return errors.New("local part must not contain two periods in a row")
	}
	for _, r := range local {
		if !isAtext(r) && r != '.' {
			return errors.New("local part must not contain " + quoteRune(r))
		}
	}
	return nil
}

func checkDomain(domain string) error {
	if domain == "" {
		return errors.New("has no domain after the @")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return errors.New("domain must have a top-level part (example.com)")
	}
	for _, l := range labels {
		if l == "" {
			return errors.New("domain must not have empty labels")
		}
		if len(l) > 63 {
			return errors.New("domain labels must be at most 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("domain labels must not start or end with a hyphen")
		}
		for _, r := range l {
			if !(isLetter(r) || isDigit(r) || r == '-') {
				return errors.New("domain must not contain " + quoteRune(r))
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return errors.New("top-level domain must have at least two letters")
	}
	for _, r := range tld {
		if !isLetter(r) {
			return errors.New("top-level domain must be letters only")
		}
	}
	return nil
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

// isAtext is RFC 5322 atext: letters, digits and a fixed set of symbols.
func isAtext(r rune) bool {
	return isLetter(r) || isDigit(r) || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

func quoteRune(r rune) string {
	if r == ' ' {
		return "spaces"
	}
	if r < ' ' || r == 0x7f {
		return "control characters"
	}
	return "'" + string(r) + "'"
}
