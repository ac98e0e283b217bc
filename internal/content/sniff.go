package content

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"steward/internal/mdm"
)

// MaxFileBytes is the largest document content may hold: 50 MiB. A larger upload is refused (413 from
// the API) and nothing is stored.
const MaxFileBytes = 50 << 20

// kind describes one accepted document type: its extensions and how its content begins.
type kind struct {
	typ   mdm.ContentType
	exts  []string
	mime  string
	magic [][]byte // the file starts with one of these (none for TXT: checked as text)
	what  string   // the signature, for error messages
}

var ole2 = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

var kinds = []kind{
	{mdm.ContentDOC, []string{".doc"}, "application/msword", [][]byte{ole2}, "the OLE2 compound file signature D0 CF 11 E0 A1 B1 1A E1"},
	{mdm.ContentPDF, []string{".pdf"}, "application/pdf", [][]byte{[]byte("%PDF-")}, `"%PDF-"`},
	{mdm.ContentPPT, []string{".ppt"}, "application/vnd.ms-powerpoint", [][]byte{ole2}, "the OLE2 compound file signature D0 CF 11 E0 A1 B1 1A E1"},
	{mdm.ContentRTF, []string{".rtf"}, "application/rtf", [][]byte{[]byte(`{\rtf`)}, `"{\rtf"`},
	{mdm.ContentTXT, []string{".txt"}, "text/plain; charset=utf-8", nil, "UTF-8 text without NUL bytes"},
	{mdm.ContentXLS, []string{".xls"}, "application/vnd.ms-excel", [][]byte{ole2}, "the OLE2 compound file signature D0 CF 11 E0 A1 B1 1A E1"},
	{mdm.ContentGIF, []string{".gif"}, "image/gif", [][]byte{[]byte("GIF87a"), []byte("GIF89a")}, `"GIF87a" or "GIF89a"`},
	{mdm.ContentJPEG, []string{".jpg", ".jpeg"}, "image/jpeg", [][]byte{{0xFF, 0xD8, 0xFF}}, "the JPEG signature FF D8 FF"},
	{mdm.ContentPNG, []string{".png"}, "image/png", [][]byte{{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}}, "the PNG signature 89 50 4E 47 0D 0A 1A 0A"},
}

// headLen is how many leading bytes the signatures need.
const headLen = 8

// Extensions lists the accepted file name extensions, for messages and the upload form's accept list.
func Extensions() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.exts...)
	}
	return out
}

var allowedText = "DOC, PDF, PPT, RTF, TXT, XLS, GIF, JPEG or PNG (" + strings.Join(Extensions(), ", ") + ")"

func kindByName(fileName string) (*kind, error) {
	ext := strings.ToLower(path.Ext(fileName))
	for i := range kinds {
		for _, e := range kinds[i].exts {
			if e == ext {
				return &kinds[i], nil
			}
		}
	}
	if ext == "" {
		return nil, fileError("UnsupportedType", fmt.Sprintf("%q has no extension: content must be a %s file", fileName, allowedText))
	}
	return nil, fileError("UnsupportedType", fmt.Sprintf("has the extension %s: content must be a %s file", ext, allowedText))
}

// TypeOf returns the content type and MIME type for a file name, by its extension alone.
func TypeOf(fileName string) (mdm.ContentType, string, bool) {
	k, err := kindByName(fileName)
	if err != nil {
		return "", "", false
	}
	return k.typ, k.mime, true
}

// MIMEType returns the MIME type of a content type ("application/octet-stream" for an unknown one).
func MIMEType(t mdm.ContentType) string {
	for _, k := range kinds {
		if k.typ == t {
			return k.mime
		}
	}
	return "application/octet-stream"
}

func fileError(code, msg string) *mdm.Error {
	return mdm.FieldErrors(mdm.FieldError{Code: code, Field: "file", Message: msg})
}

// errTooLarge marks the refusal of a file over MaxFileBytes (the API answers 413).
var errTooLarge = errors.New("content: file too large")

// IsTooLarge reports whether err refuses a file for its size.
func IsTooLarge(err error) bool { return errors.Is(err, errTooLarge) }

// TooLarge is the refusal of a file over MaxFileBytes (IsTooLarge reports it).
func TooLarge() error {
	e := fileError("TooLarge", fmt.Sprintf("is larger than %d bytes (%d MiB), the most a content file may be", MaxFileBytes, MaxFileBytes>>20))
	e.Err = errTooLarge
	return e
}

// Check reports whether data, named fileName, is an acceptable document: an allowed extension, the
// signature of the type the extension names, and at most MaxFileBytes. It returns the type.
func Check(fileName string, data []byte) (mdm.ContentType, error) {
	k, r, err := Inspect(fileName, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", err
	}
	return k, nil
}

// Inspect checks fileName's extension and the leading bytes of r against the type it names, and
// returns that type and a reader of the whole of r. For TXT the reader checks the text as it goes
// (valid UTF-8, no NUL) and fails at the first bad byte; every type's reader fails past MaxFileBytes.
// Errors are field errors naming "file" and saying what was expected.
func Inspect(fileName string, r io.Reader) (mdm.ContentType, io.Reader, error) {
	k, err := kindByName(fileName)
	if err != nil {
		return "", nil, err
	}
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(headLen)
	if err != nil && !errors.Is(err, io.EOF) {
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", nil, err
		}
		return "", nil, mdm.Wrap(mdm.Invalid, err, "cannot read the file")
	}
	if len(head) == 0 {
		return "", nil, fileError("Empty", "is empty: upload a document")
	}
	var body io.Reader = br
	if k.magic == nil {
		body = &textReader{r: br}
	} else if !hasMagic(head, k.magic) {
		msg := fmt.Sprintf("is not a %s document: a %s file starts with %s", k.typ, k.exts[0], k.what)
		if other := sniffType(head); other != "" && other != k.typ {
			msg += fmt.Sprintf(", and this one looks like %s", other)
		}
		return "", nil, fileError("TypeMismatch", msg)
	}
	return k.typ, &limitReader{r: body, left: MaxFileBytes}, nil
}

func hasMagic(head []byte, magic [][]byte) bool {
	for _, m := range magic {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return false
}

// sniffType names the type whose signature head carries ("" for none, OLE2 files as DOC), for messages.
func sniffType(head []byte) mdm.ContentType {
	for _, k := range kinds {
		if k.magic != nil && hasMagic(head, k.magic) {
			return k.typ
		}
	}
	if bytes.HasPrefix(head, []byte("MZ")) {
		return "a Windows executable"
	}
	return ""
}

// limitReader fails with the too-large error once more than left bytes have been read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, TooLarge()
	}
	return n, err
}

// textReader passes text through, failing at the first NUL byte or invalid UTF-8 sequence. A
// sequence split across reads is held back until it completes.
type textReader struct {
	r       io.Reader
	pending []byte // the start of a rune split across reads
	off     int64  // bytes checked so far
	out     []byte
}

func (t *textReader) Read(p []byte) (int, error) {
	if len(t.out) > 0 {
		n := copy(p, t.out)
		t.out = t.out[n:]
		return n, nil
	}
	buf := make([]byte, len(p))
	n, err := t.r.Read(buf)
	data := append(t.pending, buf[:n]...)
	t.pending = nil
	i := 0
	for i < len(data) {
		c := data[i]
		if c == 0 {
			return 0, fileError("NotText", fmt.Sprintf("is not a text file: it has a NUL byte at offset %d (a .txt file must be UTF-8 text)", t.off+int64(i)))
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		if !utf8.FullRune(data[i:]) {
			if err == nil { // wait for the rest of the rune
				break
			}
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return 0, fileError("NotText", fmt.Sprintf("is not a text file: invalid UTF-8 at offset %d (a .txt file must be UTF-8 text)", t.off+int64(i)))
		}
		i += size
	}
	t.pending = append([]byte(nil), data[i:]...)
	t.off += int64(i)
	k := copy(p, data[:i])
	t.out = append(t.out[:0], data[k:i]...)
	if err != nil && len(t.out) > 0 {
		err = nil // deliver the rest first
	}
	return k, err
}
