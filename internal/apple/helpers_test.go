package apple

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"steward/internal/mdm"
)

// sample reads testdata/msg/name.ext; each XML sample has a binary twin written by
// testdata/gen_binary.py.
func sample(t testing.TB, name, ext string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "msg", name+ext))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// formats are the two encodings every sample is tested in.
var formats = []string{".xml", ".bplist"}

// wantInvalid fails unless err is an mdm.Error with code invalid.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	var me *mdm.Error
	if !errors.As(err, &me) || me.Code != mdm.Invalid {
		t.Fatalf("err = %v, want an invalid mdm.Error", err)
	}
}

// xmlPlist wraps a dict body in an XML plist document.
func xmlPlist(dict string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>` + dict + `</dict></plist>`)
}
