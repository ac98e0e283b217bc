// Package apple speaks the message layer of Apple's MDM protocol: it decodes check-in messages and
// command reports (XML or binary property lists), builds command bodies from the device command queue,
// and turns command results into device facts and app lists. It does no I/O.
package apple

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

// MaxBody is the largest message body decoded. Check-ins and reports are a few kilobytes; an
// InstalledApplicationList of a full device stays well below this.
const MaxBody = 1 << 20

// ErrTooLarge is returned (wrapped) for a body over MaxBody.
var ErrTooLarge = errors.New("apple: message body too large")

// decode unmarshals an XML or binary property list into v. A binary list is checked first (see
// checkBinary), because the decoder trusts its counts and references; any panic left in the decoder
// on malformed input becomes an error.
func decode(body []byte, v any) (err error) {
	if len(body) > MaxBody {
		return mdm.Wrap(mdm.Invalid, ErrTooLarge, fmt.Sprintf("the message is over %d bytes", MaxBody))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return mdm.Errorf(mdm.Invalid, "the message is empty")
	}
	if bytes.HasPrefix(body, []byte("bplist0")) {
		if err := checkBinary(body); err != nil {
			return mdm.Wrap(mdm.Invalid, err, "the message is not a valid property list")
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = mdm.Wrap(mdm.Invalid, fmt.Errorf("plist decoder: %v", r), "the message is not a valid property list")
		}
	}()
	if err := plist.Unmarshal(body, v); err != nil {
		return mdm.Wrap(mdm.Invalid, err, "the message is not a valid property list")
	}
	return nil
}
