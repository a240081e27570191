package p2p

import (
	"bufio"
	"bytes"
	"errors"
	"google.golang.org/protobuf/proto"
	"io"
	"math"
	"runtime"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/hearth-circles/hearth/p2p/syncpb"
)

// must returns an encoder's output; the encoders fail only on oversize
// input, which these tests never give them.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// rawFrame builds a frame field by field, to write what the encoder won't.
type rawFrame []byte

func (r rawFrame) kind(k uint64) rawFrame {
	r = protowire.AppendTag(r, 1, protowire.VarintType)
	return protowire.AppendVarint(r, k)
}

func (r rawFrame) mark(author []byte, seq uint64) rawFrame {
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.BytesType)
	m = protowire.AppendBytes(m, author)
	m = protowire.AppendTag(m, 2, protowire.VarintType)
	m = protowire.AppendVarint(m, seq)
	r = protowire.AppendTag(r, 2, protowire.BytesType)
	return protowire.AppendBytes(r, m)
}

// markBusy appends a Mark with a busy mark.
func (r rawFrame) markBusy(author []byte, seq, busy uint64) rawFrame {
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.BytesType)
	m = protowire.AppendBytes(m, author)
	if seq != 0 {
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, seq)
	}
	m = protowire.AppendTag(m, 3, protowire.VarintType)
	m = protowire.AppendVarint(m, busy)
	r = protowire.AppendTag(r, 2, protowire.BytesType)
	return protowire.AppendBytes(r, m)
}

func (r rawFrame) env(e []byte) rawFrame {
	r = protowire.AppendTag(r, 3, protowire.BytesType)
	return protowire.AppendBytes(r, e)
}

func TestDecodeFrame(t *testing.T) {
	a1, a2 := author(1), author(2)
	big := make([]byte, MaxBatchBytes)
	manyMarks := func(n int) rawFrame {
		r := rawFrame(nil).kind(1)
		for i := range n {
			a := author(i)
			r = r.mark(a[:], 1)
		}
		return r
	}
	manyEnvs := func(n int) rawFrame {
		r := rawFrame(nil).kind(2)
		for range n {
			r = r.env([]byte{1})
		}
		return r
	}
	tests := []struct {
		name   string
		in     []byte
		want   error // nil: accepted
		kind   syncpb.Kind
		nMarks int
		nEnvs  int
	}{
		{"marks", must(encodeMarks(marks{a1: 3, a2: 1 << 60}, nil)), nil, syncpb.Kind_KIND_MARKS, 2, 0},
		{"empty map", must(encodeMarks(marks{}, nil)), nil, syncpb.Kind_KIND_MARKS, 0, 0},
		{"zero marks left out", must(encodeMarks(marks{a1: 0, a2: 4}, nil)), nil, syncpb.Kind_KIND_MARKS, 1, 0},
		{"busy", must(encodeMarks(marks{a1: 3}, marks{a1: 9, a2: 5})), nil, syncpb.Kind_KIND_MARKS, 1, 0},
		{"busy not above held left out", must(encodeMarks(marks{a1: 3}, marks{a1: 3})), nil, syncpb.Kind_KIND_MARKS, 1, 0},
		{"busy only", rawFrame(nil).kind(1).markBusy(a1[:], 0, 4), nil, syncpb.Kind_KIND_MARKS, 0, 0},
		{"busy below held", rawFrame(nil).kind(1).markBusy(a1[:], 5, 4), ErrProtocol, 0, 0, 0},
		{"busy equal to held", rawFrame(nil).kind(1).markBusy(a1[:], 5, 5), ErrProtocol, 0, 0, 0},
		{"busy zero", rawFrame(nil).kind(1).markBusy(a1[:], 5, 0), ErrProtocol, 0, 0, 0},
		{"largest map", manyMarks(MaxAuthors), nil, syncpb.Kind_KIND_MARKS, MaxAuthors, 0},
		{"batch", must(appendBatch(nil, [][]byte{{1}, {2, 3}})), nil, syncpb.Kind_KIND_BATCH, 0, 2},
		{"largest envelope", must(appendBatch(nil, [][]byte{big})), nil, syncpb.Kind_KIND_BATCH, 0, 1},
		{"most envelopes", manyEnvs(MaxBatchEnvelopes), nil, syncpb.Kind_KIND_BATCH, 0, MaxBatchEnvelopes},
		{"done", must(encodeDone()), nil, syncpb.Kind_KIND_DONE, 0, 0},

		{"empty", nil, ErrProtocol, 0, 0, 0},
		{"one byte", []byte{0x08}, ErrProtocol, 0, 0, 0},
		{"no kind", rawFrame(nil).mark(a1[:], 1), ErrProtocol, 0, 0, 0},
		{"kind zero", rawFrame(nil).kind(0), ErrProtocol, 0, 0, 0},
		{"unknown kind", rawFrame(nil).kind(9), ErrProtocol, 0, 0, 0},
		{"kind twice", rawFrame(nil).kind(3).kind(3), ErrProtocol, 0, 0, 0},
		{"kind as bytes", protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{3}), ErrProtocol, 0, 0, 0},
		{"unknown field", protowire.AppendVarint(protowire.AppendTag(rawFrame(nil).kind(3), 4, protowire.VarintType), 1), ErrProtocol, 0, 0, 0},
		{"trailing byte", append(rawFrame(nil).kind(3), 0x00), ErrProtocol, 0, 0, 0},
		{"truncated", must(encodeMarks(marks{a1: 3}, nil))[:10], ErrProtocol, 0, 0, 0},
		{"short author", rawFrame(nil).kind(1).mark(a1[:15], 1), ErrProtocol, 0, 0, 0},
		{"long author", rawFrame(nil).kind(1).mark(append(a1[:], 0), 1), ErrProtocol, 0, 0, 0},
		{"zero seq", rawFrame(nil).kind(1).mark(a1[:], 0), ErrProtocol, 0, 0, 0},
		{"authors out of order", rawFrame(nil).kind(1).mark(a2[:], 1).mark(a1[:], 1), ErrProtocol, 0, 0, 0},
		{"author twice", rawFrame(nil).kind(1).mark(a1[:], 1).mark(a1[:], 2), ErrProtocol, 0, 0, 0},
		{"too many authors", manyMarks(MaxAuthors + 1), ErrTooManyAuthors, 0, 0, 0},
		{"envelopes in marks", rawFrame(nil).kind(1).env([]byte{1}), ErrProtocol, 0, 0, 0},
		{"marks in batch", rawFrame(nil).kind(2).mark(a1[:], 1).env([]byte{1}), ErrProtocol, 0, 0, 0},
		{"marks in done", rawFrame(nil).kind(3).mark(a1[:], 1), ErrProtocol, 0, 0, 0},
		{"envelopes in done", rawFrame(nil).kind(3).env([]byte{1}), ErrProtocol, 0, 0, 0},
		{"empty batch", rawFrame(nil).kind(2), ErrProtocol, 0, 0, 0},
		{"empty envelope", rawFrame(nil).kind(2).env(nil), ErrProtocol, 0, 0, 0},
		{"too many envelopes", manyEnvs(MaxBatchEnvelopes + 1), ErrProtocol, 0, 0, 0},
		{"batch too large", rawFrame(nil).kind(2).env(big).env([]byte{1}), ErrProtocol, 0, 0, 0},
		{"fields out of order", rawFrame(nil).env([]byte{1}).kind(2), ErrProtocol, 0, 0, 0},
		{"kind in a long varint", []byte{0x08, 0x82, 0x00, 0x1a, 0x01, 0x01}, ErrProtocol, 0, 0, 0},
		{"length in a long varint", []byte{0x08, 0x02, 0x1a, 0x81, 0x00, 0x01}, ErrProtocol, 0, 0, 0},
		{"tag in a long varint", []byte{0x08, 0x02, 0x9a, 0x00, 0x01, 0x01}, ErrProtocol, 0, 0, 0},
		{"done in a long varint", []byte{0x08, 0x83, 0x00}, ErrProtocol, 0, 0, 0},
		{"kind after envelopes", rawFrame(nil).env([]byte{1}).kind(2).env([]byte{2}), ErrProtocol, 0, 0, 0},
		{"batch kind past 32 bits", rawFrame(nil).kind(1<<32 | 2).env([]byte{1}), ErrProtocol, 0, 0, 0},
		{"done kind past 32 bits", rawFrame(nil).kind(1<<32 | 3), ErrProtocol, 0, 0, 0},
		{"over the frame cap", make([]byte, MaxFrameSize+1), ErrProtocol, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := decodeFrame(tc.in)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if f.kind != tc.kind || len(f.marks) != tc.nMarks || len(f.envs) != tc.nEnvs {
				t.Errorf("got kind %v, %d marks, %d envelopes; want %v, %d, %d",
					f.kind, len(f.marks), len(f.envs), tc.kind, tc.nMarks, tc.nEnvs)
			}
		})
	}
}

func TestBatchRoundTrip(t *testing.T) {
	envs := [][]byte{{1}, bytes.Repeat([]byte{2}, 300), mkEnv(author(1), 7, 9)}
	b := must(appendBatch(nil, envs))
	f, err := decodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(f.envs, envs, bytes.Equal) {
		t.Fatalf("got envelopes %x, want %x", f.envs, envs)
	}
	clear(b) // the envelopes are copies, not views of the frame
	if !slices.EqualFunc(f.envs, envs, bytes.Equal) {
		t.Fatal("the decoded envelopes changed with the frame's buffer")
	}
}

func TestMarksRoundTrip(t *testing.T) {
	in := marks{author(1): 1, author(7): math.MaxUint64, author(3): 42}
	b := must(encodeMarks(in, nil))
	f, err := decodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b) // a sync stream reads the next frame into the same buffer
	if len(f.marks) != len(in) {
		t.Fatalf("got %d marks, want %d", len(f.marks), len(in))
	}
	for a, s := range in {
		if f.marks[a] != s {
			t.Errorf("author %x: got %d, want %d", a[:2], f.marks[a], s)
		}
	}
}

func TestEncodeLimits(t *testing.T) {
	full := make(marks, MaxAuthors)
	for i := range MaxAuthors {
		full[author(i)] = math.MaxUint64
	}
	b, err := encodeMarks(full, nil)
	if err != nil {
		t.Fatalf("largest map: got %v, want nil", err)
	}
	if len(b) > MaxFrameSize {
		t.Errorf("largest map: got %d bytes, want at most %d", len(b), MaxFrameSize)
	}
	full[author(MaxAuthors)] = 1
	if _, err := encodeMarks(full, nil); !errors.Is(err, ErrTooManyAuthors) {
		t.Errorf("map over the cap: got %v, want %v", err, ErrTooManyAuthors)
	}
	envs := make([][]byte, MaxBatchEnvelopes)
	for i := range envs {
		envs[i] = make([]byte, MaxBatchBytes/MaxBatchEnvelopes)
	}
	b, err = appendBatch(nil, envs)
	if err != nil || len(b) > MaxFrameSize {
		t.Errorf("largest batch: got %d bytes, error %v; want at most %d, nil", len(b), err, MaxFrameSize)
	}
}

func TestReadFrame(t *testing.T) {
	done := must(encodeDone())
	uv := func(n uint64) []byte { return protowire.AppendVarint(nil, n) }
	tests := []struct {
		name string
		in   []byte
		want error // nil: a frame; io.EOF: clean end
	}{
		{"frame", append(uv(uint64(len(done))), done...), nil},
		{"clean end", nil, io.EOF},
		{"zero length", uv(0), ErrProtocol},
		{"over the cap", uv(MaxFrameSize + 1), ErrProtocol},
		{"huge claim", uv(1 << 62), ErrProtocol},
		{"largest uvarint", uv(math.MaxUint64), ErrProtocol},
		{"overflowing uvarint", bytes.Repeat([]byte{0xff}, 11), ErrProtocol},
		{"tenth byte too big", append(bytes.Repeat([]byte{0x80}, 9), 0x02), ErrProtocol},
		{"non-minimal length", []byte{0x82, 0x00, 0x08, 0x03}, ErrProtocol},
		{"truncated length", []byte{0x80}, ErrProtocol},
		{"truncated body", append(uv(10), 0x08), ErrProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), nil)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if err == nil && !bytes.Equal(b, done) {
				t.Errorf("got %x, want %x", b, done)
			}
		})
	}
}

// TestReadFrameIntoBuffer: a frame that fits the buffer is read into it, and a
// batch encoded after another reuses its buffer; both round-trip.
func TestReadFrameIntoBuffer(t *testing.T) {
	small := must(appendBatch(nil, [][]byte{{1, 2, 3}}))
	large := must(appendBatch(nil, [][]byte{bytes.Repeat([]byte{4}, 5000)}))
	var stream bytes.Buffer
	for _, f := range [][]byte{small, small, large} {
		if err := writeFrame(&stream, f); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&stream)
	buf := make([]byte, 0, 64)
	for i, want := range [][]byte{small, small, large} {
		b, err := readFrame(r, buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("frame %d: got %x, want %x", i, b, want)
		}
		if shared := &b[0] == &buf[:1][0]; shared != (len(want) <= cap(buf)) {
			t.Errorf("frame %d of %d bytes: read into the buffer of %d: %v", i, len(want), cap(buf), shared)
		}
	}

	first := must(appendBatch(nil, [][]byte{bytes.Repeat([]byte{5}, 100)}))
	again := must(appendBatch(first[:0], [][]byte{{6}}))
	if &again[0] != &first[0] {
		t.Error("the second batch did not reuse the first one's buffer")
	}
	f, err := decodeFrame(again)
	if err != nil || len(f.envs) != 1 || !bytes.Equal(f.envs[0], []byte{6}) {
		t.Errorf("reused buffer: got %v, %v; want the one envelope 06", f.envs, err)
	}
}

// TestReadFrameAllocation: a claimed length over the cap is refused
// without allocating anything near that size.
func TestReadFrameAllocation(t *testing.T) {
	in := protowire.AppendVarint(nil, MaxFrameSize+1)
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(in)), nil); !errors.Is(err, ErrProtocol) {
			t.Fatalf("got %v, want %v", err, ErrProtocol)
		}
	}
	runtime.ReadMemStats(&after)
	if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 16<<10 {
		t.Errorf("got %d bytes allocated per refused frame, want at most %d", perRun, 16<<10)
	}
}

// FuzzSyncFrame reads a stream of length-prefixed frames as a sync peer
// would. It must never panic, and every frame it accepts must be the
// canonical encoding of what it decoded to.
func FuzzSyncFrame(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			b, err := readFrame(r, nil)
			if err != nil {
				return
			}
			fr, err := decodeFrame(b)
			if err != nil {
				if canonicalBatchOrDone(b) {
					t.Fatalf("refused a canonical frame %x: %v", b, err)
				}
				continue
			}
			var again []byte
			switch fr.kind {
			case syncpb.Kind_KIND_MARKS:
				if len(fr.marks) > MaxAuthors {
					t.Fatalf("accepted %d authors", len(fr.marks))
				}
				again, err = encodeMarks(fr.marks, fr.busy)
			case syncpb.Kind_KIND_BATCH:
				if len(fr.envs) == 0 || len(fr.envs) > MaxBatchEnvelopes {
					t.Fatalf("accepted a batch of %d", len(fr.envs))
				}
				again, err = appendBatch(nil, fr.envs)
			case syncpb.Kind_KIND_DONE:
				again, err = encodeDone()
			default:
				t.Fatalf("accepted kind %v", fr.kind)
			}
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("accepted a non-canonical frame: got %x, re-encoded %x", b, again)
			}
		}
	})
}

// canonicalBatchOrDone reports whether b is, by the generated decoder and
// encoder, a batch or done frame within the limits, encoded canonically:
// one that decodeFrame must accept.
func canonicalBatchOrDone(b []byte) bool {
	var pf syncpb.Frame
	if proto.Unmarshal(b, &pf) != nil || len(pf.ProtoReflect().GetUnknown()) != 0 || len(pf.Marks) != 0 {
		return false
	}
	size := 0
	for _, e := range pf.Envelopes {
		if len(e) == 0 {
			return false
		}
		size += len(e)
	}
	switch pf.Kind {
	case syncpb.Kind_KIND_BATCH:
		if len(pf.Envelopes) == 0 || len(pf.Envelopes) > MaxBatchEnvelopes || size > MaxBatchBytes {
			return false
		}
	case syncpb.Kind_KIND_DONE:
		if len(pf.Envelopes) != 0 {
			return false
		}
	default:
		return false
	}
	again, err := marshalFrame(&pf)
	return err == nil && bytes.Equal(again, b)
}

func fuzzSeeds(t testing.TB) [][]byte {
	stream := func(frames ...[]byte) []byte {
		var w bytes.Buffer
		for _, f := range frames {
			if err := writeFrame(&w, f); err != nil {
				t.Fatal(err)
			}
		}
		return w.Bytes()
	}
	m := must(encodeMarks(marks{author(1): 5, author(2): 1}, nil))
	mb := must(encodeMarks(marks{author(1): 5}, marks{author(1): 9, author(3): 2}))
	bt := must(appendBatch(nil, [][]byte{mkEnv(author(1), 1, 8), mkEnv(author(1), 2, 3)}))
	d := must(encodeDone())
	return [][]byte{
		stream(m),
		stream(m, bt, d),
		stream(mb, d),
		stream(d),
		stream(must(encodeMarks(marks{}, nil))),
		stream(rawFrame(nil).kind(1<<32 | 2).env([]byte{1})), // a kind the generated decoder cuts to 32 bits
		{0x00},
		{0xff, 0xff, 0xff, 0xff, 0x0f},
	}
}

// FuzzExchangeResponse reads a request/response answer. It must never
// panic nor return more than the cap.
func FuzzExchangeResponse(f *testing.F) {
	f.Add([]byte{statusOK, 0x02, 'h', 'i'}, uint16(10))
	f.Add([]byte{statusOK, 0x02, 'h', 'i'}, uint16(1))
	f.Add([]byte{statusFailed}, uint16(10))
	f.Add([]byte{statusTooLarge}, uint16(10))
	f.Add([]byte{statusOK, 0xff, 0xff, 0xff, 0xff, 0x0f}, uint16(100))
	f.Add([]byte{statusOK, 0x00, 0x00}, uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, maxResp uint16) {
		resp, err := readResponse(bufio.NewReader(bytes.NewReader(data)), int(maxResp))
		if err == nil && len(resp) > int(maxResp) {
			t.Fatalf("got %d bytes, cap %d", len(resp), maxResp)
		}
	})
}
