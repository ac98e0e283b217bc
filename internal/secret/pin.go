package secret

import (
	"crypto/rand"
	"math/big"
)

// PIN returns n random decimal digits, uniformly drawn.
func PIN(n int) string {
	b := make([]byte, n)
	ten := big.NewInt(10)
	for i := range b {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			panic("secret: no randomness: " + err.Error())
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}
