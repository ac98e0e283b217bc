package apple

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

// The samples below have the keys real devices send, optional ones included or left out, extra keys
// the decoders ignore, non-ASCII text (UTF-16 in the binary twins), data over 255 bytes and lists
// long enough for two-byte object references, so the binary twins exercise the encodings real
// devices use.

// prand is the deterministic filler the sample generator used for tokens: SHA-256 blocks of
// "seed-0", "seed-1", … cut to n bytes.
func prand(n int, seed string) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s-%d", seed, i))
		out = append(out, sum[:]...)
	}
	return out[:n]
}

func TestParseInstalledApplicationListMany(t *testing.T) {
	want := []mdm.InstalledApp{
		{AppID: "com.apple.Pages", Name: "Pages", Version: "14.2"},
		{AppID: "com.microsoft.Office.Outlook", Name: "Microsoft Outlook", Version: "4.2445.0"},
		{AppID: "com.example.café", Name: "Café ☕️", Version: "1.0"},
		{AppID: "com.example.emoji", Name: "Emoji 😀 Keyboard"}, // neither ShortVersion nor Version
	}
	for i := range 40 {
		want = append(want, mdm.InstalledApp{AppID: fmt.Sprintf("com.example.tool%02d", i), Name: fmt.Sprintf("Tool %d", i),
			Version: fmt.Sprintf("1.%d", i)})
	}
	for _, ext := range formats {
		got, err := ParseInstalledApplicationList(sample(t, "installedapps_many", ext))
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", ext, diff)
		}
	}
}

// The binary twins are binary: a sample regenerated as XML by mistake would test one decoder twice.
func TestBinarySamplesAreBinary(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "msg", "*.xml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, xml := range names {
		name := strings.TrimSuffix(filepath.Base(xml), ".xml")
		b := sample(t, name, ".bplist")
		if !strings.HasPrefix(string(b), "bplist00") || checkBinary(b) != nil {
			t.Errorf("%s.bplist is not a well-formed binary plist", name)
		}
	}
}

var updateCorpus = flag.Bool("update-corpus", false, "write every sample of testdata/msg into the fuzz seed corpora")

// TestFuzzCorpusHoldsEverySample keeps the seed corpora of FuzzCheckin and FuzzReport in step with the
// samples: every sample, in both encodings, seeds the target that decodes its kind of message.
func TestFuzzCorpusHoldsEverySample(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "msg", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, xml := range names {
		name := strings.TrimSuffix(filepath.Base(xml), ".xml")
		target := "FuzzReport"
		if _, err := DecodeCheckin(sample(t, name, ".xml")); err == nil {
			target = "FuzzCheckin"
		}
		for _, ext := range formats {
			body := sample(t, name, ext)
			path := filepath.Join("testdata", "fuzz", target, name+"_"+ext[1:])
			want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(body)) + ")\n"
			if *updateCorpus {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run with -update-corpus)", err)
				continue
			}
			if string(got) != want && !sameSeed(string(got), body) {
				t.Errorf("%s does not hold %s%s (run with -update-corpus)", path, name, ext)
			}
		}
	}
}

// sameSeed reports whether a corpus file's one []byte value is body, however it was quoted.
func sameSeed(file string, body []byte) bool {
	rest, ok := strings.CutPrefix(file, "go test fuzz v1\n[]byte(")
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(strings.TrimRight(rest, "\n"), ")")
	if !ok {
		return false
	}
	s, err := strconv.Unquote(rest)
	return err == nil && s == string(body)
}
