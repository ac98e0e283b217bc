package httpapi

import (
	"log/slog"
	"testing"

	"steward/internal/content"
)

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

// TestContentDocumented: the upload is documented as multipart with a binary file, its 413, and the
// downloads as files.
func TestContentDocumented(t *testing.T) {
	a := New(Deps{Log: slog.New(slog.DiscardHandler), Content: content.New(nil, nil, nil, nil)})
	paths := a.OpenAPI()["paths"].(map[string]map[string]any)
	post := paths["/api/v1/content"]["post"].(map[string]any)
	body := post["requestBody"].(map[string]any)["content"].(map[string]any)
	mp, ok := body["multipart/form-data"].(map[string]any)
	if !ok || len(body) != 1 {
		t.Fatalf("upload body %v", body)
	}
	file := mp["schema"].(map[string]any)["properties"].(map[string]any)["file"].(map[string]any)
	if file["format"] != "binary" {
		t.Errorf("file part %v", file)
	}
	if _, ok := post["responses"].(map[string]any)["413"]; !ok {
		t.Error("upload without 413")
	}
	dl := paths["/api/v1/content/{id}/download"]["get"].(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)
	if _, ok := dl["content"].(map[string]any)["application/octet-stream"]; !ok {
		t.Errorf("download response %v", dl)
	}
	for _, p := range []string{"/api/v1/content/{id}", "/api/v1/content/{id}/file", "/api/v1/content/{id}/distribution"} {
		if paths[p] == nil {
			t.Errorf("%s undocumented", p)
		}
	}
}
