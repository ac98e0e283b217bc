// Package appstest builds small but real .ipa and .apk files for tests: zip archives with an Info.plist
// (XML) or a binary AndroidManifest.xml (AXML), as the apps package reads them.
package appstest

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// IPA returns an .ipa of bundleID at version (CFBundleShortVersionString) and build (CFBundleVersion),
// with display name name.
func IPA(bundleID, name, version, build string) []byte {
	plist := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>CFBundleIdentifier</key><string>%s</string>
<key>CFBundleDisplayName</key><string>%s</string>
<key>CFBundleShortVersionString</key><string>%s</string>
<key>CFBundleVersion</key><string>%s</string>
</dict></plist>`, bundleID, name, version, build)
	return zipOf(map[string][]byte{
		"Payload/App.app/Info.plist":                        []byte(plist),
		"Payload/App.app/App":                               bytes.Repeat([]byte{0xcf, 0xfa}, 512),
		"Payload/App.app/PlugIns/Ext.appex/Info.plist":      []byte("not the app's"),
		"Payload/App.app/Frameworks/F.framework/Info.plist": []byte("not the app's"),
	})
}

// APK returns an .apk of package pkg with versionName and versionCode, its manifest in binary XML.
func APK(pkg, versionName string, versionCode uint32) []byte {
	return zipOf(map[string][]byte{
		"AndroidManifest.xml": Manifest(pkg, versionName, versionCode),
		"classes.dex":         bytes.Repeat([]byte{0x64, 0x65, 0x78}, 300),
	})
}

// Manifest encodes <manifest package=… android:versionCode=… android:versionName=…> as binary XML with
// a UTF-16 string pool and a resource map, as aapt2 does.
func Manifest(pkg, versionName string, versionCode uint32) []byte {
	strs := []string{"versionCode", "versionName", "package", "manifest", pkg, versionName,
		"http://schemas.android.com/apk/res/android", "android"}
	le := binary.LittleEndian
	// String pool.
	var data bytes.Buffer
	offsets := make([]uint32, len(strs))
	for i, s := range strs {
		offsets[i] = uint32(data.Len())
		units := utf16.Encode([]rune(s))
		_ = binary.Write(&data, le, uint16(len(units)))
		_ = binary.Write(&data, le, units)
		_ = binary.Write(&data, le, uint16(0))
	}
	for data.Len()%4 != 0 {
		data.WriteByte(0)
	}
	var pool bytes.Buffer
	hsize := 28
	start := hsize + 4*len(strs)
	_ = binary.Write(&pool, le, []uint16{0x0001, uint16(hsize)})
	_ = binary.Write(&pool, le, []uint32{uint32(start + data.Len()), uint32(len(strs)), 0, 0, uint32(start), 0})
	_ = binary.Write(&pool, le, offsets)
	pool.Write(data.Bytes())
	// Resource map: string 0 is android:versionCode, 1 android:versionName.
	var resMap bytes.Buffer
	_ = binary.Write(&resMap, le, []uint16{0x0180, 8})
	_ = binary.Write(&resMap, le, []uint32{16, 0x0101021b, 0x0101021c})
	// Start namespace, start element <manifest>, end element, end namespace.
	var ns bytes.Buffer
	_ = binary.Write(&ns, le, []uint16{0x0100, 16})
	_ = binary.Write(&ns, le, []uint32{24, 1, 0xffffffff, 7, 6})
	var elem bytes.Buffer
	const none = 0xffffffff
	_ = binary.Write(&elem, le, []uint16{0x0102, 16})
	_ = binary.Write(&elem, le, []uint32{16 + 20 + 3*20, 1, none})
	_ = binary.Write(&elem, le, []uint32{none, 3})
	_ = binary.Write(&elem, le, []uint16{20, 20, 3, 0, 0, 0})
	attr := func(nsIdx, name, raw uint32, typ uint8, value uint32) {
		_ = binary.Write(&elem, le, []uint32{nsIdx, name, raw})
		_ = binary.Write(&elem, le, uint16(8))
		elem.WriteByte(0)
		elem.WriteByte(typ)
		_ = binary.Write(&elem, le, value)
	}
	attr(6, 0, none, 0x10, versionCode)
	attr(6, 1, 5, 0x03, 5)
	attr(none, 2, 4, 0x03, 4)
	var end bytes.Buffer
	_ = binary.Write(&end, le, []uint16{0x0103, 16})
	_ = binary.Write(&end, le, []uint32{24, 1, none, none, 3})
	body := bytes.Join([][]byte{pool.Bytes(), resMap.Bytes(), ns.Bytes(), elem.Bytes(), end.Bytes()}, nil)
	var out bytes.Buffer
	_ = binary.Write(&out, le, []uint16{0x0003, 8})
	_ = binary.Write(&out, le, uint32(8+len(body)))
	out.Write(body)
	return out.Bytes()
}

func zipOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, name := range []string{"AndroidManifest.xml", "classes.dex", "Payload/App.app/App",
		"Payload/App.app/PlugIns/Ext.appex/Info.plist", "Payload/App.app/Frameworks/F.framework/Info.plist",
		"Payload/App.app/Info.plist"} {
		b, ok := files[name]
		if !ok {
			continue
		}
		w, err := z.Create(name)
		if err != nil {
			panic(err)
		}
		_, _ = w.Write(b)
	}
	if err := z.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
