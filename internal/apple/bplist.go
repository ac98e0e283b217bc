package apple

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits on a binary property list's object graph. Objects may be shared, so the decoder's work is
// the size of the expanded tree, not of the file: both are bounded here.
const (
	maxDepth = 32
	maxNodes = 1 << 18
)

var errBinary = errors.New("malformed binary property list")

// checkBinary walks a binary property list ("bplist00") the way the decoder will and refuses what
// would make it allocate from unchecked counts, index past its tables, or recurse without end (a
// cycle or an exponential fan-out of shared objects).
func checkBinary(data []byte) error {
	const header, trailer = 8, 32
	if len(data) < header+trailer {
		return errBinary
	}
	t := data[len(data)-trailer:]
	offSize, refSize := int(t[6]), int(t[7])
	n := binary.BigEndian.Uint64(t[8:16])
	top := binary.BigEndian.Uint64(t[16:24])
	tableAt := binary.BigEndian.Uint64(t[24:32])
	end := uint64(len(data) - trailer) // objects and the offset table lie before the trailer
	if offSize < 1 || offSize > 8 || refSize < 1 || refSize > 8 || n == 0 || n > end || top >= n ||
		tableAt < header || tableAt > end || n*uint64(offSize) > end-tableAt {
		return fmt.Errorf("%w: bad trailer", errBinary)
	}
	w := walker{data: data[:tableAt], refSize: refSize, n: n, offsets: make([]uint64, n)}
	for i := range w.offsets {
		at := tableAt + uint64(i*offSize)
		w.offsets[i] = uintN(data[at : at+uint64(offSize)])
		if w.offsets[i] < header || w.offsets[i] >= tableAt {
			return fmt.Errorf("%w: object offset out of range", errBinary)
		}
	}
	return w.walk(top, 0)
}

type walker struct {
	data    []byte // the object table: everything before the offset table
	refSize int
	n       uint64
	offsets []uint64
	nodes   int
}

func (w *walker) walk(i uint64, depth int) error {
	w.nodes++
	if w.nodes > maxNodes || depth > maxDepth {
		return fmt.Errorf("%w: too deeply nested or too many objects", errBinary)
	}
	pos := w.offsets[i]
	marker := w.data[pos]
	pos++
	switch marker >> 4 {
	case 0x0, 0x1, 0x2, 0x3, 0x8, 0xc: // fixed-size scalars; uid and set are not decoded
		return nil
	case 0x4, 0x5, 0x6: // data, ASCII, UTF-16: count bytes (UTF-16: count units)
		count, pos, err := w.count(marker, pos)
		if err != nil {
			return err
		}
		if marker>>4 == 0x6 {
			count *= 2
		}
		if count > uint64(len(w.data))-pos {
			return fmt.Errorf("%w: value runs past the object table", errBinary)
		}
		return nil
	case 0xa, 0xd: // array: count refs; dictionary: count key refs then count value refs
		count, pos, err := w.count(marker, pos)
		if err != nil {
			return err
		}
		if marker>>4 == 0xd {
			count *= 2
		}
		if count > (uint64(len(w.data))-pos)/uint64(w.refSize) {
			return fmt.Errorf("%w: collection runs past the object table", errBinary)
		}
		for k := uint64(0); k < count; k++ {
			at := pos + k*uint64(w.refSize)
			ref := uintN(w.data[at : at+uint64(w.refSize)])
			if ref >= w.n {
				return fmt.Errorf("%w: reference out of range", errBinary)
			}
			if err := w.walk(ref, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown object type %#x", errBinary, marker>>4)
}

// count reads a collection's or string's length: the marker's low nibble, or when that is 0xf an
// integer object that follows (the decoder reads 1<<(low nibble) bytes of it).
func (w *walker) count(marker byte, pos uint64) (uint64, uint64, error) {
	if marker&0xf != 0xf {
		return uint64(marker & 0xf), pos, nil
	}
	if pos >= uint64(len(w.data)) {
		return 0, 0, fmt.Errorf("%w: truncated count", errBinary)
	}
	size := uint64(1) << (w.data[pos] & 0xf)
	pos++
	if size > 8 || size > uint64(len(w.data))-pos {
		return 0, 0, fmt.Errorf("%w: bad count", errBinary)
	}
	return uintN(w.data[pos : pos+size]), pos + size, nil
}

// uintN reads a big-endian unsigned integer of 1 to 8 bytes.
func uintN(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
