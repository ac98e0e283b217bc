package httpapi

import "testing"

// TestAttachment: the offered name never breaks out of its parameter, never names a path, and keeps its
// UTF-8 form in filename* when the plain one had to change.
func TestAttachment(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Price list.pdf", `attachment; filename="Price list.pdf"`},
		{"plain.txt", `attachment; filename=plain.txt`},
		{"résumé.pdf", `attachment; filename=r_sum_.pdf; filename*=utf-8''r%C3%A9sum%C3%A9.pdf`},
		{`evil"; filename=x.exe`, `attachment; filename="evil__ filename=x.exe"`},
		{"a\r\nSet-Cookie: x.txt", `attachment; filename="a__Set-Cookie_ x.txt"; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x.txt`},
		{"../../etc.txt", `attachment; filename=_.._etc.txt`},
		{"", `attachment; filename=download`},
	} {
		if got := Attachment(tc.name); got != tc.want {
			t.Errorf("Attachment(%q) =\n %s\nwant\n %s", tc.name, got, tc.want)
		}
	}
}
