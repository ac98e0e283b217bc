package mdm

import "testing"

func TestDeviceKindFor(t *testing.T) {
	for _, c := range []struct {
		platform, model, pretty, form string
		want                          string
	}{
		{PlatformAndroid, "SM-G991B", "Galaxy S21", "phone", KindAndroidPhone},
		{PlatformAndroid, "SM-G991B", "Galaxy S21", "", KindAndroidPhone},
		{PlatformAndroid, "Pixel 8", "", "", KindAndroidPhone},
		{PlatformAndroid, "whatever", "", "tablet", KindAndroidTablet},
		{PlatformAndroid, "SM-T870", "", "", KindAndroidTablet},
		{PlatformAndroid, "SM-X710", "", "phone", KindAndroidTablet},
		{PlatformAndroid, "Pixel Tablet", "", "", KindAndroidTablet},
		{PlatformAndroid, "Nexus 9", "", "", KindAndroidTablet},
		{PlatformAndroid, "Nexus 10", "", "", KindAndroidTablet},
		{PlatformAndroid, "Nexus 5X", "", "", KindAndroidPhone},
		{PlatformAndroid, "TB-X606F", "Lenovo Tab M10", "", KindAndroidTablet},
		{PlatformAndroid, "X1", "Lenovo Tab P11", "", KindAndroidTablet},
		{PlatformAndroid, "", "", "", KindAndroidPhone},
		{PlatformIOS, "iPhone14,2", "iPhone 13 Pro", "", KindIPhone},
		{PlatformIOS, "AppleTV6,2", "", "", KindAppleTV},
		{PlatformIOS, "iPad2,5", "", "", KindIPadMini},
		{PlatformIOS, "iPad2,7", "", "", KindIPadMini},
		{PlatformIOS, "iPad2,4", "", "", KindIPad},
		{PlatformIOS, "iPad4,4", "", "", KindIPadMini},
		{PlatformIOS, "iPad4,9", "", "", KindIPadMini},
		{PlatformIOS, "iPad4,3", "", "", KindIPad},
		{PlatformIOS, "iPad5,1", "", "", KindIPadMini},
		{PlatformIOS, "iPad5,3", "", "", KindIPad},
		{PlatformIOS, "iPad11,2", "", "", KindIPadMini},
		{PlatformIOS, "iPad11,3", "", "", KindIPad},
		{PlatformIOS, "iPad14,1", "", "", KindIPadMini},
		{PlatformIOS, "iPad14,3", "", "", KindIPad},
		{PlatformIOS, "iPad16,2", "", "", KindIPadMini},
		{PlatformIOS, "iPad13,18", "", "", KindIPad},
		{PlatformIOS, "", "iPad mini (6th generation)", "", KindIPadMini},
		{PlatformIOS, "", "Apple TV 4K", "", KindAppleTV},
		{PlatformIOS, "", "", "", KindIPhone},
	} {
		if got := DeviceKindFor(c.platform, c.model, c.pretty, c.form); got != c.want {
			t.Errorf("DeviceKindFor(%s, %q, %q, %q) = %s, want %s", c.platform, c.model, c.pretty, c.form, got, c.want)
		}
	}
}
