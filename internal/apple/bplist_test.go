package apple

import (
	"encoding/binary"
	"errors"
	"testing"
)

// bplist assembles a binary property list from encoded objects (1-byte references, 2-byte offsets),
// so that tests can write the malformed ones no encoder would.
func bplist(top uint64, objs ...[]byte) []byte {
	b := []byte("bplist00")
	var offsets []int
	for _, o := range objs {
		offsets = append(offsets, len(b))
		b = append(b, o...)
	}
	tableAt := len(b)
	for _, off := range offsets {
		b = binary.BigEndian.AppendUint16(b, uint16(off))
	}
	b = append(b, 0, 0, 0, 0, 0, 0, 2, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(len(objs)))
	b = binary.BigEndian.AppendUint64(b, top)
	return binary.BigEndian.AppendUint64(b, uint64(tableAt))
}

func ascii(s string) []byte { return append([]byte{0x50 | byte(len(s))}, s...) }

func TestBplistBuilder(t *testing.T) {
	// A CheckOut written by the test's own assembler decodes: the assembler is right, so the
	// malformed lists below fail for the reason they were built for.
	body := bplist(0,
		[]byte{0xd3, 1, 2, 3, 4, 5, 6},
		ascii("MessageType"), ascii("UDID"), ascii("Topic"),
		ascii("CheckOut"), ascii("U"), ascii("T"))
	got, err := DecodeCheckin(body)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := got.(*CheckOut); !ok || m.UDID != "U" || m.Topic != "T" {
		t.Fatalf("got %#v", got)
	}
}

func TestBinaryMalformed(t *testing.T) {
	// chain is n arrays, each holding two references to the next: 2^n nodes once expanded.
	chain := func(n int) []byte {
		var objs [][]byte
		for i := 0; i < n; i++ {
			objs = append(objs, []byte{0xa2, byte(i + 1), byte(i + 1)})
		}
		return bplist(0, append(objs, ascii("x"))...)
	}
	tests := []struct {
		name string
		body []byte
	}{
		{"array holding itself", bplist(0, []byte{0xa1, 0})},
		{"dict holding itself", bplist(0, []byte{0xd1, 1, 0}, ascii("k"))},
		{"shared objects fanning out", chain(40)},
		{"too deep", func() []byte {
			var objs [][]byte
			for i := 0; i < 100; i++ {
				objs = append(objs, []byte{0xa1, byte(i + 1)})
			}
			return bplist(0, append(objs, ascii("x"))...)
		}()},
		{"reference one past the end", bplist(0, []byte{0xa1, 1})},
		{"top object past the end", bplist(1, ascii("x"))},
		{"huge array count", bplist(0, []byte{0xaf, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
		{"huge data count", bplist(0, []byte{0x4f, 0x13, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00})},
		{"huge string count", bplist(0, []byte{0x6f, 0x12, 0x7f, 0xff, 0xff, 0xff})},
		{"count of 16 bytes", bplist(0, []byte{0x5f, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'x'})},
		{"truncated count", bplist(0, []byte{0x5f})},
		{"unknown object type", bplist(0, []byte{0x70})},
		{"object offset inside the header", func() []byte {
			b := bplist(0, ascii("x"))
			b[len(b)-32-2], b[len(b)-32-1] = 0, 2
			return b
		}()},
		{"reference size 9", func() []byte {
			b := bplist(0, []byte{0xa1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
			b[len(b)-32+7] = 9
			return b
		}()},
		{"offset table past the end", func() []byte {
			b := bplist(0, ascii("x"))
			binary.BigEndian.PutUint64(b[len(b)-8:], 1<<62)
			return b
		}()},
		{"object count past the end", func() []byte {
			b := bplist(0, ascii("x"))
			binary.BigEndian.PutUint64(b[len(b)-24:], 1<<62)
			return b
		}()},
		{"only a header", []byte("bplist00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkBinary(tt.body); !errors.Is(err, errBinary) {
				t.Errorf("checkBinary = %v, want errBinary", err)
			}
			_, err := DecodeReport(tt.body)
			wantInvalid(t, err)
		})
	}
}
