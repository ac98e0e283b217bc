package content

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"steward/internal/mdm"
)

// Minimal real files of each accepted type.
var (
	ole2File = append(append([]byte{}, ole2...), make([]byte, 504)...) // an OLE2 header block's signature and padding
	pdfFile  = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
	rtfFile  = []byte(`{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Hello.\par}`)
	gif87    = []byte("GIF87a\x01\x00\x01\x00\x00\x00\x00;")
	gif89    = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	jpegFile = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9}
	pngFile  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0bIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb0\x00\x00\x00\x00IEND\xaeB`\x82")
	txtFile  = []byte("Quarterly figures\nRevenue: 12 €\nÜbersicht — 日本語\n")
	exeFile  = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 64)...)
)

func TestAcceptedTypes(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want mdm.ContentType
	}{
		{"memo.doc", ole2File, mdm.ContentDOC},
		{"Report.PDF", pdfFile, mdm.ContentPDF},
		{"deck.ppt", ole2File, mdm.ContentPPT},
		{"letter.rtf", rtfFile, mdm.ContentRTF},
		{"notes.txt", txtFile, mdm.ContentTXT},
		{"ascii.txt", []byte("plain ASCII\r\n"), mdm.ContentTXT},
		{"sheet.xls", ole2File, mdm.ContentXLS},
		{"old.gif", gif87, mdm.ContentGIF},
		{"pixel.gif", gif89, mdm.ContentGIF},
		{"photo.jpg", jpegFile, mdm.ContentJPEG},
		{"photo.jpeg", jpegFile, mdm.ContentJPEG},
		{"logo.png", pngFile, mdm.ContentPNG},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.name, tc.data)
			if err != nil || got != tc.want {
				t.Fatalf("Check = %q, %v; want %q", got, err, tc.want)
			}
			// One byte at a time, as a slow upload arrives.
			typ, r, err := Inspect(tc.name, iotest.OneByteReader(bytes.NewReader(tc.data)))
			if err != nil || typ != tc.want {
				t.Fatalf("Inspect = %q, %v", typ, err)
			}
			out, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(out, tc.data) {
				t.Fatalf("read back %d bytes (%v), want the %d uploaded", len(out), err, len(tc.data))
			}
		})
	}
}

func TestRefusedFiles(t *testing.T) {
	cases := []struct {
		name, file string
		data       []byte
		code, msg  string
	}{
		{"executable renamed pdf", "setup.pdf", exeFile, "TypeMismatch", `is not a PDF document: a .pdf file starts with "%PDF-", and this one looks like a Windows executable`},
		{"pdf renamed png", "chart.png", pdfFile, "TypeMismatch", "is not a PNG document: a .png file starts with the PNG signature 89 50 4E 47 0D 0A 1A 0A, and this one looks like PDF"},
		{"png renamed jpg", "photo.jpg", pngFile, "TypeMismatch", "is not a JPEG document"},
		{"text renamed doc", "memo.doc", txtFile, "TypeMismatch", "OLE2 compound file signature"},
		{"text with NUL", "notes.txt", []byte("hello\x00world"), "NotText", "has a NUL byte at offset 5"},
		{"latin-1 text", "notes.txt", []byte("caf\xe9 au lait"), "NotText", "invalid UTF-8 at offset 3"},
		{"truncated rune at end", "notes.txt", []byte("ab\xe2\x82"), "NotText", "invalid UTF-8 at offset 2"},
		{"exe", "setup.exe", exeFile, "UnsupportedType", "has the extension .exe: content must be a DOC, PDF, PPT, RTF, TXT, XLS, GIF, JPEG or PNG"},
		{"docx", "memo.docx", []byte("PK\x03\x04"), "UnsupportedType", "has the extension .docx"},
		{"no extension", "README", txtFile, "UnsupportedType", "has no extension"},
		{"empty", "empty.pdf", nil, "Empty", "is empty"},
		{"short", "x.png", []byte{0x89, 'P'}, "TypeMismatch", "is not a PNG document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(tc.file, tc.data)
			e, ok := err.(*mdm.Error)
			if !ok || e.Code != mdm.Invalid || len(e.Fields) != 1 {
				t.Fatalf("Check = %#v, want one invalid field error", err)
			}
			f := e.Fields[0]
			if f.Field != "file" || f.Code != tc.code || !strings.Contains(f.Message, tc.msg) {
				t.Errorf("field error %+v, want code %s and a message containing %q", f, tc.code, tc.msg)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	big := io.MultiReader(bytes.NewReader(pdfFile), io.LimitReader(zeros{}, MaxFileBytes))
	_, r, err := Inspect("big.pdf", big)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, r)
	if !IsTooLarge(err) {
		t.Fatalf("copy = %v, want too large", err)
	}
	if !strings.Contains(err.Error(), "52428800 bytes (50 MiB)") {
		t.Errorf("message %q does not name the limit", err)
	}
	exact := io.MultiReader(bytes.NewReader(pdfFile), io.LimitReader(zeros{}, MaxFileBytes-int64(len(pdfFile))))
	_, r, _ = Inspect("exact.pdf", exact)
	if n, err := io.Copy(io.Discard, r); err != nil || n != MaxFileBytes {
		t.Errorf("a file of exactly the limit: %d bytes, %v", n, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzCheck holds the sniffer to its definition for any input: never a panic; an accepted file's
// extension names the type, its signature matches it, text is valid UTF-8 without NUL; and the
// streaming check agrees with the whole-file one however the bytes arrive.
func FuzzCheck(f *testing.F) {
	for _, seed := range [][]byte{ole2File, pdfFile, rtfFile, gif87, gif89, jpegFile, pngFile, txtFile, exeFile,
		[]byte("a\x00b"), []byte("\xe2\x82"), []byte("\xe2\x82\xac"), {}} {
		for _, ext := range []string{"doc", "pdf", "ppt", "rtf", "txt", "xls", "gif", "jpg", "png", "exe"} {
			f.Add("file."+ext, seed)
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		typ, err := Check(name, data)
		if err != nil {
			if e, ok := err.(*mdm.Error); !ok || e.Code != mdm.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "file" {
				t.Fatalf("refusal %#v is not one field error on file", err)
			}
			if _, r, err := Inspect(name, iotest.HalfReader(bytes.NewReader(data))); err == nil {
				if _, err := io.ReadAll(r); err == nil {
					t.Fatal("streaming accepted what Check refused")
				}
			}
			return
		}
		want, _, ok := TypeOf(name)
		if !ok || want != typ {
			t.Fatalf("accepted %q as %s, but its extension says %q", name, typ, want)
		}
		if len(data) == 0 {
			t.Fatal("accepted an empty file")
		}
		switch typ {
		case mdm.ContentTXT:
			if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
				t.Fatalf("accepted %q as text", data)
			}
		case mdm.ContentPDF:
			if !bytes.HasPrefix(data, []byte("%PDF-")) {
				t.Fatal("accepted a PDF without %PDF-")
			}
		case mdm.ContentDOC, mdm.ContentXLS, mdm.ContentPPT:
			if !bytes.HasPrefix(data, ole2) {
				t.Fatal("accepted an Office file without the OLE2 signature")
			}
		}
		_, r, err := Inspect(name, iotest.HalfReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("streaming refused what Check accepted: %v", err)
		}
		out, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("streaming read %q, %v", out, err)
		}
	})
}
