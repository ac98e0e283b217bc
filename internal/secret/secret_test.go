package secret

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestPassword(t *testing.T) {
	h := HashPassword("correct horse battery")
	if !CheckPassword(h, "correct horse battery") {
		t.Fatal("right password rejected")
	}
	if CheckPassword(h, "correct horse batterY") {
		t.Fatal("wrong password accepted")
	}
	if HashPassword("x") == HashPassword("x") {
		t.Fatal("hashes are not salted")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", "plain"} {
		if CheckPassword(bad, "") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}

func TestKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, err := LoadOrCreate("", path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreate("", path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.Hash("tok"), k2.Hash("tok")) {
		t.Fatal("reloaded key hashes differently")
	}
	if bytes.Equal(k1.Hash("tok"), k1.Hash("tok2")) {
		t.Fatal("different tokens hash alike")
	}
	sealed := k1.Seal([]byte("link with a secret"))
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("sealed data holds the plaintext")
	}
	got, err := k2.Open(sealed)
	if err != nil || string(got) != "link with a secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k2.Open(sealed); err == nil {
		t.Fatal("tampered data opened")
	}
	other, _ := New(bytes.Repeat([]byte{7}, 32))
	if _, err := other.Open(k1.Seal([]byte("x"))); err == nil {
		t.Fatal("another key opened sealed data")
	}
}
