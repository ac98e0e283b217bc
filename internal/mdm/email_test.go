package mdm

import "testing"

func TestParseEmail(t *testing.T) {
	good := map[string]string{
		"ta@example.com":         "ta@example.com",
		"First.Last@Example.COM": "First.Last@example.com",
		"a+tag@sub.example.org":  "a+tag@sub.example.org",
		"o'brien@example.ie":     "o'brien@example.ie",
		"x_y-z@ex-ample.co.uk":   "x_y-z@ex-ample.co.uk",
	}
	for in, want := range good {
		got, err := ParseEmail(in)
		if err != nil || got != want {
			t.Errorf("ParseEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "not-an-email", "@example.com", "a@", "a@example", "a@example.c", ".a@example.com",
		"a.@example.com", "a..b@example.com", "Ann <a@example.com>", "a b@example.com", "a@-ex.com",
		"a@ex..com", "a@example.c0m", "\"q\"@example.com", "a(comment)@example.com", "a@ex_ample.com",
	}
	for _, in := range bad {
		if got, err := ParseEmail(in); err == nil {
			t.Errorf("ParseEmail(%q) = %q, want an error", in, got)
		}
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"ta@example.com", "a..b@x.io", "<a@b.c>", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEmail(s)
		if err != nil {
			return
		}
		again, err := ParseEmail(got)
		if err != nil || again != got {
			t.Fatalf("normalised %q to %q, which re-parses as %q, %v", s, got, again, err)
		}
	})
}
