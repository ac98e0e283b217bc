package apps

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/micromdm/plist"
)

// Binary is what an uploaded .ipa or .apk says about itself.
type Binary struct {
	Platform    string
	BundleID    string // CFBundleIdentifier or the manifest's package
	Name        string // CFBundleDisplayName or CFBundleName; "" for an .apk (its label is a resource)
	Version     string // CFBundleShortVersionString or versionName
	BuildNumber string // CFBundleVersion or versionCode
}

// Bounds of what is read from inside an archive.
const (
	maxInfoPlist = 1 << 20
	maxManifest  = 4 << 20
	maxEntries   = 200_000
)

// ErrNotApp says an upload is not a readable .ipa or .apk.
var ErrNotApp = errors.New("not an .ipa or .apk")

// ReadBinary reads an .ipa (a zip with Payload/<name>.app/Info.plist) or an .apk (a zip with a binary
// AndroidManifest.xml) of size bytes.
func ReadBinary(r io.ReaderAt, size int64) (*Binary, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip archive", ErrNotApp)
	}
	if len(z.File) > maxEntries {
		return nil, fmt.Errorf("%w: too many entries", ErrNotApp)
	}
	for _, f := range z.File {
		switch {
		case f.Name == "AndroidManifest.xml":
			data, err := readEntry(f, maxManifest)
			if err != nil {
				return nil, err
			}
			return ParseManifest(data)
		case isInfoPlist(f.Name):
			data, err := readEntry(f, maxInfoPlist)
			if err != nil {
				return nil, err
			}
			return parseInfoPlist(data)
		}
	}
	return nil, fmt.Errorf("%w: neither Payload/*.app/Info.plist nor AndroidManifest.xml found", ErrNotApp)
}

// isInfoPlist matches Payload/<name>.app/Info.plist exactly (not the Info.plist of an embedded bundle).
func isInfoPlist(name string) bool {
	parts := strings.Split(name, "/")
	return len(parts) == 3 && parts[0] == "Payload" && strings.HasSuffix(parts[1], ".app") && parts[2] == "Info.plist"
}

func readEntry(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%w: %s is too large", ErrNotApp, f.Name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be read", ErrNotApp, f.Name)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil || int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s cannot be read", ErrNotApp, f.Name)
	}
	return data, nil
}

func parseInfoPlist(data []byte) (b *Binary, err error) {
	defer func() {
		if recover() != nil { // the decoder trusts binary plist offsets
			b, err = nil, fmt.Errorf("%w: Info.plist is malformed", ErrNotApp)
		}
	}()
	var info struct {
		ID          string `plist:"CFBundleIdentifier"`
		Short       string `plist:"CFBundleShortVersionString"`
		Version     string `plist:"CFBundleVersion"`
		DisplayName string `plist:"CFBundleDisplayName"`
		Name        string `plist:"CFBundleName"`
	}
	if err := plist.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%w: Info.plist is malformed", ErrNotApp)
	}
	if info.ID == "" {
		return nil, fmt.Errorf("%w: Info.plist has no CFBundleIdentifier", ErrNotApp)
	}
	name := info.DisplayName
	if name == "" {
		name = info.Name
	}
	version := info.Short
	if version == "" {
		version = info.Version
	}
	return &Binary{Platform: "IOS", BundleID: info.ID, Name: name, Version: version, BuildNumber: info.Version}, nil
}

// Android binary XML (AXML) chunk types and the resource ids of the manifest attributes read.
const (
	resXMLType        = 0x0003
	resStringPoolType = 0x0001
	resXMLResMapType  = 0x0180
	resXMLStartElem   = 0x0102
	utf8Flag          = 1 << 8
	attrVersionCode   = 0x0101021b
	attrVersionName   = 0x0101021c
	typeString        = 0x03
	typeIntDec        = 0x10
	typeIntHex        = 0x11
	maxStrings        = 1 << 20
)

// ParseManifest reads package, versionName and versionCode from an AndroidManifest.xml: the binary XML
// an .apk carries, or plain XML. The parser is bounded: every offset and count is checked against the
// data before it is used.
func ParseManifest(data []byte) (*Binary, error) {
	if len(data) > 0 && data[0] == '<' {
		return parseTextManifest(data)
	}
	bad := func(what string) error { return fmt.Errorf("%w: AndroidManifest.xml: %s", ErrNotApp, what) }
	if len(data) < 8 || binary.LittleEndian.Uint16(data) != resXMLType {
		return nil, bad("not binary XML")
	}
	var (
		pool   []string
		resMap []uint32
	)
	off := int(binary.LittleEndian.Uint16(data[2:]))
	for off+8 <= len(data) {
		typ := binary.LittleEndian.Uint16(data[off:])
		hsize := int(binary.LittleEndian.Uint16(data[off+2:]))
		size := int(binary.LittleEndian.Uint32(data[off+4:]))
		if size < 8 || hsize < 8 || hsize > size || off+size > len(data) {
			return nil, bad("bad chunk")
		}
		chunk := data[off : off+size]
		switch typ {
		case resStringPoolType:
			var err error
			if pool, err = stringPool(chunk); err != nil {
				return nil, bad(err.Error())
			}
		case resXMLResMapType:
			for i := hsize; i+4 <= size; i += 4 {
				resMap = append(resMap, binary.LittleEndian.Uint32(chunk[i:]))
			}
		case resXMLStartElem:
			if hsize+20 > size {
				return nil, bad("bad element")
			}
			ext := chunk[hsize:]
			name := str(pool, binary.LittleEndian.Uint32(ext[4:]))
			if name != "manifest" {
				break
			}
			attrStart := int(binary.LittleEndian.Uint16(ext[8:]))
			attrSize := int(binary.LittleEndian.Uint16(ext[10:]))
			count := int(binary.LittleEndian.Uint16(ext[12:]))
			b := &Binary{Platform: "ANDROID"}
			for i := 0; i < count; i++ {
				at := hsize + attrStart + i*attrSize
				if attrSize < 20 || at+20 > size {
					return nil, bad("bad attribute")
				}
				a := chunk[at:]
				nameIdx := binary.LittleEndian.Uint32(a[4:])
				raw := binary.LittleEndian.Uint32(a[8:])
				dataType := a[15]
				value := binary.LittleEndian.Uint32(a[16:])
				var res uint32
				if int(nameIdx) < len(resMap) {
					res = resMap[nameIdx]
				}
				attr := str(pool, nameIdx)
				text := str(pool, raw)
				if text == "" {
					switch dataType {
					case typeString:
						text = str(pool, value)
					case typeIntDec, typeIntHex:
						text = strconv.FormatUint(uint64(value), 10)
					}
				}
				switch {
				case attr == "package":
					b.BundleID = text
				case res == attrVersionCode || attr == "versionCode":
					b.BuildNumber = text
				case res == attrVersionName || attr == "versionName":
					b.Version = text
				}
			}
			if b.BundleID == "" {
				return nil, bad("the manifest has no package")
			}
			if b.Version == "" {
				b.Version = b.BuildNumber
			}
			return b, nil
		}
		off += size
	}
	return nil, bad("no manifest element")
}

func str(pool []string, i uint32) string {
	if int64(i) < int64(len(pool)) {
		return pool[i]
	}
	return ""
}

// stringPool decodes a ResStringPool chunk (UTF-8 or UTF-16 strings).
func stringPool(c []byte) ([]string, error) {
	if len(c) < 28 {
		return nil, errors.New("bad string pool")
	}
	count := int(binary.LittleEndian.Uint32(c[8:]))
	flags := binary.LittleEndian.Uint32(c[16:])
	start := int(binary.LittleEndian.Uint32(c[20:]))
	hsize := int(binary.LittleEndian.Uint16(c[2:]))
	if count > maxStrings || hsize+count*4 > len(c) || start > len(c) {
		return nil, errors.New("bad string pool")
	}
	out := make([]string, count)
	for i := range count {
		o := start + int(binary.LittleEndian.Uint32(c[hsize+i*4:]))
		if o < 0 || o >= len(c) {
			return nil, errors.New("bad string offset")
		}
		s := c[o:]
		if flags&utf8Flag != 0 {
			_, n := len8(s) // length in UTF-16 units, unused
			if n == 0 {
				return nil, errors.New("bad string")
			}
			l, m := len8(s[n:])
			if m == 0 || n+m+l > len(s) {
				return nil, errors.New("bad string")
			}
			out[i] = string(s[n+m : n+m+l])
			continue
		}
		if len(s) < 2 {
			return nil, errors.New("bad string")
		}
		l, n := int(binary.LittleEndian.Uint16(s)), 2
		if l&0x8000 != 0 {
			if len(s) < 4 {
				return nil, errors.New("bad string")
			}
			l, n = (l&0x7fff)<<16|int(binary.LittleEndian.Uint16(s[2:])), 4
		}
		if n+2*l > len(s) {
			return nil, errors.New("bad string")
		}
		units := make([]uint16, l)
		for j := range units {
			units[j] = binary.LittleEndian.Uint16(s[n+2*j:])
		}
		out[i] = string(utf16.Decode(units))
	}
	return out, nil
}

// len8 reads a UTF-8 pool length: one byte, or two when the first has its high bit set. n is 0 when
// the data is too short.
func len8(s []byte) (l, n int) {
	if len(s) < 1 {
		return 0, 0
	}
	if s[0]&0x80 == 0 {
		return int(s[0]), 1
	}
	if len(s) < 2 {
		return 0, 0
	}
	return int(s[0]&0x7f)<<8 | int(s[1]), 2
}

// parseTextManifest reads a plain XML manifest (as some build tools leave it unpacked).
func parseTextManifest(data []byte) (*Binary, error) {
	var m struct {
		XMLName     xml.Name `xml:"manifest"`
		Package     string   `xml:"package,attr"`
		VersionCode string   `xml:"http://schemas.android.com/apk/res/android versionCode,attr"`
		VersionName string   `xml:"http://schemas.android.com/apk/res/android versionName,attr"`
	}
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil || m.Package == "" {
		return nil, fmt.Errorf("%w: AndroidManifest.xml has no package", ErrNotApp)
	}
	v := m.VersionName
	if v == "" {
		v = m.VersionCode
	}
	return &Binary{Platform: "ANDROID", BundleID: m.Package, Version: v, BuildNumber: m.VersionCode}, nil
}
