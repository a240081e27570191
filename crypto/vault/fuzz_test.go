package vault

import (
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary headers to ParamsOf and Open. Open runs only for
// headers whose parameters are cheap, so the fuzzer spends its time on parsing.
func FuzzOpen(f *testing.F) {
	header, _, err := New([]byte("fuzz"), fast)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(header, []byte("fuzz"))
	f.Add(header[:20], []byte(""))
	f.Add([]byte{}, []byte("x"))
	f.Fuzz(func(t *testing.T, header, passphrase []byte) {
		p, perr := ParamsOf(header)
		if perr != nil {
			if !errors.Is(perr, ErrMalformed) && !errors.Is(perr, ErrVersion) {
				t.Fatalf("ParamsOf: got %v, want ErrMalformed or ErrVersion", perr)
			}
		} else if !p.valid() {
			t.Fatalf("ParamsOf: got out-of-range %+v with nil error", p)
		}
		if perr == nil && (p.Time > 1 || p.MemoryKiB > 8*1024 || p.Threads > 1) {
			return
		}
		_, err := Open(header, passphrase)
		switch {
		case perr != nil && (err == nil || err.Error() != perr.Error()):
			t.Fatalf("Open: got %v, want %v as from ParamsOf", err, perr)
		case err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrWrongPassphrase):
			t.Fatalf("Open: got unexpected error %v", err)
		}
	})
}
