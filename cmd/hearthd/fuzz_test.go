package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecodeRequest checks that any input either fails to decode or decodes
// to a request that survives encoding and decoding again unchanged.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"cmd":"post","circle":"tq5nl4cd6nm4bfa32lq5pyp6dm","text":"hi","scope":"future"}` + "\n"))
	f.Add([]byte(`{"cmd":"read","limit":50}`))
	f.Add([]byte(`{"cmd":"x","text":"\u202e\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeRequest(data)
		if err != nil {
			if req != (request{}) {
				t.Fatalf("failed decode returned %+v, want the zero request", req)
			}
			return
		}
		if req.Cmd == "" {
			t.Fatalf("decoded a request without cmd")
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("encode decoded request: %v", err)
		}
		req2, err := decodeRequest(again)
		if err != nil {
			t.Fatalf("decode re-encoded request %q: %v", again, err)
		}
		// Invalid UTF-8 is replaced on the first decode, so the second
		// decode sees what the first produced.
		if req2 != req {
			t.Fatalf("round trip: got %+v, want %+v", req2, req)
		}
	})
}

// FuzzDecodeResponse is FuzzDecodeRequest for responses.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"ok":true,"result":["a","b"]}`))
	f.Add([]byte(`{"ok":false,"error":"wrong passphrase","kind":"wrong_passphrase"}`))
	f.Add([]byte(`{"ok":true,"result":{"id":"m1","text":"hi"}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := decodeResponse(data)
		if err != nil {
			return
		}
		if !resp.OK && resp.Error == "" {
			t.Fatalf("decoded a failure without an error")
		}
		again, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("encode decoded response: %v", err)
		}
		resp2, err := decodeResponse(again)
		if err != nil {
			t.Fatalf("decode re-encoded response %q: %v", again, err)
		}
		if resp2.OK != resp.OK || resp2.Error != resp.Error || resp2.Kind != resp.Kind {
			t.Fatalf("round trip: got %+v, want %+v", resp2, resp)
		}
		if resp.OK && !reflect.DeepEqual(compactJSON(t, resp2.Result), compactJSON(t, resp.Result)) {
			t.Fatalf("round trip result: got %s, want %s", resp2.Result, resp.Result)
		}
	})
}

func compactJSON(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("result %q is not JSON: %v", raw, err)
	}
	return v
}

// FuzzSafeText checks that what read prints for people never carries a
// control, format or invalid character to the terminal.
func FuzzSafeText(f *testing.F) {
	f.Add("plain")
	f.Add("\x1b[31mred\u202e\u200b\xff\n")
	f.Add(strings.Repeat("\u2066", 10))
	f.Fuzz(func(t *testing.T, s string) {
		out := safeText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("safeText(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029) {
				t.Fatalf("safeText(%q) = %q: contains %U", s, out, r)
			}
		}
		name := safeName(s)
		if strings.Contains(name, "\n") || utf8.RuneCountInString(name) > maxNameRunes {
			t.Fatalf("safeName(%q) = %q: want one line of at most %d runes", s, name, maxNameRunes)
		}
	})
}
