package mdm

import (
	"strconv"
	"strings"
)

// DeviceKindFor derives a device's kind from its platform and what it reports about its hardware:
// model (an Android model code such as "SM-X710" or an Apple identifier such as "iPad14,1"),
// prettyModel (the marketing name) and formFactor (what an Android agent says: "phone" or "tablet").
// A device it cannot place is a phone of its platform.
func DeviceKindFor(platform, model, prettyModel, formFactor string) string {
	if platform == PlatformIOS {
		return appleKind(model, prettyModel)
	}
	if strings.EqualFold(formFactor, "tablet") || androidTabletModel(model) || androidTabletModel(prettyModel) {
		return KindAndroidTablet
	}
	return KindAndroidPhone
}

// androidTabletPrefixes are model codes of tablets: Samsung Galaxy Tab (SM-T, SM-X, SM-P), Lenovo Tab
// (TB-, "Lenovo TB-"), Amazon Fire (KF…).
var androidTabletPrefixes = []string{"SM-T", "SM-X", "SM-P", "TB-", "LENOVO TB", "KF"}

// androidTabletNames are marketing names of tablets.
var androidTabletNames = []string{"PIXEL TABLET", "PIXEL C", "NEXUS 9", "NEXUS 10", "LENOVO TAB", "GALAXY TAB"}

func androidTabletModel(s string) bool {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return false
	}
	for _, p := range androidTabletPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	for _, n := range androidTabletNames {
		if s == n || strings.HasPrefix(s, n+" ") {
			return true
		}
	}
	return false
}

// iPadMinis lists, per major version of the "iPadM,n" identifier, the minor versions that are iPad
// minis (mini 2 to mini 7).
var iPadMinis = map[int][]int{2: {5, 6, 7}, 4: {4, 5, 6, 7, 8, 9}, 5: {1, 2}, 11: {1, 2}, 14: {1, 2}, 16: {1, 2}}

func appleKind(model, prettyModel string) string {
	m := strings.TrimSpace(model)
	switch {
	case strings.HasPrefix(m, "iPhone"):
		return KindIPhone
	case strings.HasPrefix(m, "AppleTV"):
		return KindAppleTV
	case strings.HasPrefix(m, "iPad"):
		if major, minor, ok := appleVersion(strings.TrimPrefix(m, "iPad")); ok {
			for _, v := range iPadMinis[major] {
				if v == minor {
					return KindIPadMini
				}
			}
			return KindIPad
		}
	}
	// No identifier we know: fall back to the marketing name.
	p := strings.ToLower(strings.TrimSpace(prettyModel))
	switch {
	case strings.HasPrefix(p, "ipad mini"):
		return KindIPadMini
	case strings.HasPrefix(p, "ipad"):
		return KindIPad
	case strings.HasPrefix(p, "apple tv"):
		return KindAppleTV
	}
	return KindIPhone
}

// appleVersion parses the "M,n" of an Apple model identifier.
func appleVersion(s string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil
}
