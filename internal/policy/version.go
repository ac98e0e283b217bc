package policy

import (
	"strconv"
	"strings"
	"time"
)

// versionBody is the comparable part of a version: without a leading v and without what follows a
// space or '(' ("17.2 (21C62)"). ok is false when it does not start with a digit.
func versionBody(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	if i := strings.IndexAny(s, " ("); i >= 0 {
		s = s[:i]
	}
	if s == "" || !isDigit(s[0]) {
		return "", false
	}
	return s, true
}

// parseVersion returns the comparable form of a version, or false when s is not one.
func parseVersion(s string) (string, bool) { return versionBody(s) }

func isVersionSep(c byte) bool { return c == '.' || c == '-' || c == '_' }

// compareVersions compares two version bodies component by component: components are separated
// by '.', '-' or '_'; a missing component counts as "0"; a component's leading digits compare as a
// number, and one without digits sorts before any number ("1.0-beta" < "1.0"); what follows the
// digits compares as text, none sorting after some ("2" > "2a").
func compareVersions(a, b string) int {
	for a != "" || b != "" {
		var ca, cb string
		ca, a = component(a)
		cb, b = component(b)
		if c := compareComponent(ca, cb); c != 0 {
			return c
		}
	}
	return 0
}

func component(s string) (comp, rest string) {
	if s == "" {
		return "0", ""
	}
	i := 0
	for i < len(s) && !isVersionSep(s[i]) {
		i++
	}
	if i < len(s) {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func compareComponent(a, b string) int {
	na, sa := digits(a)
	nb, sb := digits(b)
	switch {
	case na == "" && nb != "":
		return -1
	case na != "" && nb == "":
		return 1
	}
	na, nb = strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
	if len(na) != len(nb) {
		return cmpInt(len(na), len(nb))
	}
	if c := strings.Compare(na, nb); c != 0 {
		return c
	}
	switch {
	case sa == sb:
		return 0
	case sa == "":
		return 1
	case sb == "":
		return -1
	}
	return strings.Compare(strings.ToLower(sa), strings.ToLower(sb))
}

func digits(s string) (num, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxDuration bounds a duration literal (about 100 years).
const maxDuration = 100 * 365 * 24 * time.Hour

var durationUnits = map[byte]time.Duration{'w': 7 * 24 * time.Hour, 'd': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}

// parseDuration parses digits unit {digits unit} with units w d h m s (7d, 12h, 1d12h).
func parseDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		num, rest := digits(s)
		if num == "" || rest == "" || len(num) > 9 {
			return 0, false
		}
		unit, ok := durationUnits[rest[0]]
		if !ok {
			return 0, false
		}
		n, _ := strconv.Atoi(num)
		total += time.Duration(n) * unit
		if total > maxDuration {
			return 0, false
		}
		s = rest[1:]
	}
	return total, true
}

// formatDuration writes d (whole seconds) as the rule language does: 7d, 12h, 1d12h, 90s.
func formatDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit byte
		dur  time.Duration
	}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}} {
		if n := d / u.dur; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.unit)
			d -= n * u.dur
		}
	}
	return b.String()
}
