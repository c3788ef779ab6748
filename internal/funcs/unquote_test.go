package funcs

import (
	"encoding/json"
	"testing"
)

// FuzzUnquote holds unquote to encoding/json's reading of a string.
func FuzzUnquote(f *testing.F) {
	for _, seed := range []string{`""`, `"a\"b\\c\/d"`, `"\u00e9\ud83d\ude00"`, `"\ud800x"`, `"\ud83d\u0041"`, "\"\xff\xfe\"", `"\n"`, "\"\n\"", `"\x"`, `"abc`, `"\u12"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := unquote(in)
		var want string
		werr := json.Unmarshal(in, &want)
		if werr != nil {
			// unquote only accepts input that starts and ends with a quote,
			// so anything it accepts must be a literal json accepts too.
			if err == nil {
				t.Fatalf("unquote accepted %q that json rejects: %v", in, werr)
			}
			return
		}
		if len(in) == 0 || in[0] != '"' || in[len(in)-1] != '"' {
			return // json tolerated surrounding space; unquote needs the literal alone
		}
		if err != nil {
			t.Fatalf("unquote(%q) failed: %v; json gives %q", in, err, want)
		}
		if string(got) != want {
			t.Fatalf("unquote(%q) = %q; json gives %q", in, got, want)
		}
	})
}

func TestUnquoteRejectsWhatJSONRejects(t *testing.T) {
	for _, in := range []string{`"`, `"abc`, `abc"`, `"\x"`, `"\u12"`, "\"a\nb\"", `"a"b"`, `"\`} {
		if _, err := unquote([]byte(in)); err == nil {
			t.Errorf("unquote(%q) succeeded", in)
		}
	}
}
