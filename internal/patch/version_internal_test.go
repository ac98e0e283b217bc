package patch

import (
	"testing"

	"steward/internal/mdm"
)

func TestBelow(t *testing.T) {
	tests := []struct {
		platform, have, want string
		below                bool
	}{
		{mdm.PlatformIOS, "17.3", "17.4.1", true},
		{mdm.PlatformIOS, "17.4", "17.4.1", true},
		{mdm.PlatformIOS, "17.4.1", "17.4.1", false},
		{mdm.PlatformIOS, "17.4.0", "17.4", false},
		{mdm.PlatformIOS, "17.10", "17.4.1", false},
		{mdm.PlatformIOS, "18.0", "17.4.1", false},
		{mdm.PlatformIOS, "", "17.4.1", true},
		{mdm.PlatformIOS, "beta", "17.4.1", true},
		{mdm.PlatformAndroid, "14", "2024-03-01", true},          // patch level unknown
		{mdm.PlatformAndroid, "2024-04-05", "2024-03-01", false}, // a level, when known
		{mdm.PlatformAndroid, "2024-02-05", "2024-03-01", true},
	}
	for _, tt := range tests {
		if got := below(tt.platform, tt.have, tt.want); got != tt.below {
			t.Errorf("below(%s, %q, %q) = %v, want %v", tt.platform, tt.have, tt.want, got, tt.below)
		}
	}
}
