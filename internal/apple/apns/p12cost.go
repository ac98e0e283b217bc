package apns

import (
	"encoding/asn1"
	"fmt"
)

// The PKCS#12 library derives keys with whatever iteration count a file names, so a file asking for
// billions of rounds would hold a CPU for hours. Files are refused before decoding when one derivation
// (the MAC's, or a bag's cipher) asks for more than maxP12Iterations rounds, or all of them together
// for more than maxP12TotalIterations. Real exports use 2,048 to a few hundred thousand.
const (
	maxP12Iterations      = 1_000_000
	maxP12TotalIterations = 4_000_000
	maxP12Depth           = 32
)

// Algorithms whose parameters are SEQUENCE { salt, iterations, … }: the PKCS#12 PBE ciphers
// (1.2.840.113549.1.12.1.n) and PBKDF2 (1.2.840.113549.1.5.12, inside PBES2's parameters).
var (
	oidPKCS12PBE = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	oidPBKDF2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
)

// checkP12Cost refuses a PKCS#12 file whose key derivations would cost more than the limits allow.
func checkP12Cost(der []byte) error {
	total := 0
	if err := p12Cost(der, 0, &total); err != nil {
		return err
	}
	if total > maxP12TotalIterations {
		return fmt.Errorf("the PKCS#12 file asks for %d key derivation rounds in all, more than %d: export it again", total, maxP12TotalIterations)
	}
	return nil
}

// p12Cost walks the DER elements in der (descending into constructed values and into octet strings
// that hold DER) and adds up the iteration counts of key derivation parameters and of the MAC.
func p12Cost(der []byte, depth int, total *int) error {
	if depth > maxP12Depth {
		return nil
	}
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return nil // not DER (encrypted bytes, or garbage the decoder will refuse)
		}
		der = rest
		switch {
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence:
			elems := elements(v.Bytes)
			if n, ok := iterations(elems); ok {
				if n > maxP12Iterations {
					return fmt.Errorf("the PKCS#12 file asks for %d key derivation rounds, more than %d: export it again", n, maxP12Iterations)
				}
				*total += n
			}
			if err := p12Cost(v.Bytes, depth+1, total); err != nil {
				return err
			}
		case v.IsCompound:
			if err := p12Cost(v.Bytes, depth+1, total); err != nil {
				return err
			}
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
			if err := p12Cost(v.Bytes, depth+1, total); err != nil {
				return err
			}
		}
	}
	return nil
}

// iterations finds the iteration count a SEQUENCE's elements carry: an algorithm identifier of a
// PKCS#12 PBE cipher or PBKDF2 (its parameters' second element), or MacData (DigestInfo, salt,
// iterations).
func iterations(elems []asn1.RawValue) (int, bool) {
	if len(elems) == 2 && isUniversal(elems[0], asn1.TagOID) && isUniversal(elems[1], asn1.TagSequence) {
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(elems[0].FullBytes, &oid); err != nil {
			return 0, false
		}
		pbe := len(oid) == len(oidPKCS12PBE)+1 && oid[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE)
		if !pbe && !oid.Equal(oidPBKDF2) {
			return 0, false
		}
		params := elements(elems[1].Bytes)
		if len(params) >= 2 && isUniversal(params[1], asn1.TagInteger) {
			return count(params[1].Bytes), true
		}
		return 0, false
	}
	if len(elems) == 3 && isUniversal(elems[0], asn1.TagSequence) && isUniversal(elems[1], asn1.TagOctetString) &&
		isUniversal(elems[2], asn1.TagInteger) {
		return count(elems[2].Bytes), true
	}
	return 0, false
}

// count reads a non-negative INTEGER's content, saturating: anything over 2^31 is reported as such.
func count(b []byte) int {
	if len(b) == 0 || b[0]&0x80 != 0 {
		return 0 // negative: the decoder refuses it
	}
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > 4 {
		return 1 << 31
	}
	n := 0
	for _, c := range b {
		n = n<<8 | int(c)
	}
	return n
}

func elements(der []byte) []asn1.RawValue {
	var out []asn1.RawValue
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return out
		}
		out = append(out, v)
		der = rest
	}
	return out
}

func isUniversal(v asn1.RawValue, tag int) bool {
	return v.Class == asn1.ClassUniversal && v.Tag == tag
}
