package p2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/p2p/syncpb"
)

// Limits of the sync protocol (see the package documentation).
const (
	// MaxFrameSize is the largest sync frame, without its length prefix:
	// 1.1 MiB, room for a full batch and its encoding overhead.
	MaxFrameSize = 1153433
	// MaxAuthors is the largest high-water map accepted or sent.
	MaxAuthors = 10000
	// MaxBatchEnvelopes is the most envelopes in one batch frame.
	MaxBatchEnvelopes = 256
	// MaxBatchBytes is the most envelope bytes in one batch frame; it is
	// also the largest envelope sync can carry.
	MaxBatchBytes = 1 << 20
)

// authorLen is the size of an author id in a high-water map.
const authorLen = 16

// frame is a decoded, checked sync frame.
type frame struct {
	kind  syncpb.Kind
	marks map[[authorLen]byte]uint64 // KIND_MARKS only: held
	busy  map[[authorLen]byte]uint64 // KIND_MARKS only: on their way from elsewhere
	envs  [][]byte                   // KIND_BATCH only
}

// readFrame reads one length-prefixed frame. It returns io.EOF only when the
// stream ends cleanly before a frame starts. The claimed length is checked
// against MaxFrameSize before anything is allocated. It reads into buf when
// buf has room, so the frame may share buf's memory.
func readFrame(r io.ByteReader, buf []byte) ([]byte, error) {
	n, err := readLength(r, MaxFrameSize)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("empty frame: %w", ErrProtocol)
	}
	b := buf[:0]
	if uint64(cap(b)) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	if err := readFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readLength reads a uvarint length and refuses one over max. It returns
// io.EOF only when the stream ends before the first byte; a stream that ends
// inside the varint is a protocol violation.
func readLength(r io.ByteReader, max uint64) (uint64, error) {
	var n uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if i == 0 {
					return 0, io.EOF
				}
				return 0, fmt.Errorf("truncated length: %w", ErrProtocol)
			}
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflows 64 bits
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i > 0 && c == 0 {
				return 0, fmt.Errorf("length not minimally encoded: %w", ErrProtocol)
			}
			if n > max {
				return 0, fmt.Errorf("length %d over the %d cap: %w", n, max, ErrProtocol)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("length overflows: %w", ErrProtocol)
}

// readFull fills b from r; a stream that ends early is a protocol violation.
func readFull(r io.ByteReader, b []byte) error {
	if rr, ok := r.(io.Reader); ok {
		if _, err := io.ReadFull(rr, b); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("truncated frame: %w", ErrProtocol)
			}
			return err
		}
		return nil
	}
	for i := range b {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("truncated frame: %w", ErrProtocol)
			}
			return err
		}
		b[i] = c
	}
	return nil
}

// writeFrame writes b with its uvarint length prefix.
func writeFrame(w io.Writer, b []byte) error {
	if len(b) == 0 || len(b) > MaxFrameSize {
		return fmt.Errorf("frame of %d bytes: %w", len(b), ErrTooLarge)
	}
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(b)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// decodeFrame parses and checks one frame. It scans the wire format first,
// so that counts are checked before the protobuf decoder allocates, and
// refuses unknown fields, repeated scalar fields, a missing or unknown kind,
// fields that do not belong to the kind, authors that are not 16 bytes or
// not in strictly ascending order, zero sequence numbers, empty envelopes and
// any encoding other than the one encodeMarks, appendBatch and encodeDone
// produce.
func decodeFrame(b []byte) (frame, error) {
	if len(b) == 0 || len(b) > MaxFrameSize {
		return frame{}, fmt.Errorf("frame of %d bytes: %w", len(b), ErrProtocol)
	}
	var nKind, nMarks, nEnvs, envBytes int
	var kind uint64
	// plain: the frame is a kind followed only by envelopes, every tag,
	// varint and length written in its shortest form; for a batch or a
	// done frame that is exactly the canonical encoding.
	plain := true
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return frame{}, fmt.Errorf("bad tag: %w", ErrProtocol)
		}
		plain = plain && n == protowire.SizeTag(num)
		rest = rest[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			plain = plain && nKind == 0 && nEnvs == 0
			nKind++
			kind, n = protowire.ConsumeVarint(rest)
			plain = plain && n == protowire.SizeVarint(kind)
		case num == 2 && typ == protowire.BytesType:
			plain = false
			nMarks++
			_, n = protowire.ConsumeBytes(rest)
		case num == 3 && typ == protowire.BytesType:
			var v []byte
			nEnvs++
			v, n = protowire.ConsumeBytes(rest)
			envBytes += len(v)
			plain = plain && n == protowire.SizeBytes(len(v)) && len(v) > 0
		default:
			return frame{}, fmt.Errorf("unknown field %d type %d: %w", num, typ, ErrProtocol)
		}
		if n < 0 {
			return frame{}, fmt.Errorf("bad field %d: %w", num, ErrProtocol)
		}
		rest = rest[n:]
	}
	switch {
	case nKind != 1:
		return frame{}, fmt.Errorf("%d kind fields: %w", nKind, ErrProtocol)
	case nMarks > MaxAuthors:
		return frame{}, fmt.Errorf("%d authors: %w", nMarks, ErrTooManyAuthors)
	case nEnvs > MaxBatchEnvelopes:
		return frame{}, fmt.Errorf("%d envelopes in a batch: %w", nEnvs, ErrProtocol)
	case envBytes > MaxBatchBytes:
		return frame{}, fmt.Errorf("batch of %d bytes: %w", envBytes, ErrProtocol)
	}
	// Batches are most of a catch-up's bytes: they are checked above, in
	// the one pass, rather than decoded, encoded again and compared.
	// The kind is compared as the wire holds it: the generated decoder
	// would cut a value past 32 bits down to one of the kinds.
	switch {
	case kind == uint64(syncpb.Kind_KIND_BATCH) && plain && nEnvs > 0:
		return frame{kind: syncpb.Kind_KIND_BATCH, envs: batchEnvelopes(b, nEnvs)}, nil
	case kind == uint64(syncpb.Kind_KIND_DONE) && plain && nEnvs == 0:
		return frame{kind: syncpb.Kind_KIND_DONE}, nil
	}

	var pf syncpb.Frame
	if err := proto.Unmarshal(b, &pf); err != nil {
		return frame{}, fmt.Errorf("decode frame: %w", ErrProtocol)
	}
	f := frame{kind: pf.GetKind()}
	switch f.kind {
	case syncpb.Kind_KIND_MARKS:
		if nEnvs != 0 {
			return frame{}, fmt.Errorf("envelopes in a marks frame: %w", ErrProtocol)
		}
		f.marks = make(map[[authorLen]byte]uint64, len(pf.GetMarks()))
		f.busy = make(map[[authorLen]byte]uint64)
		var prev []byte
		for _, m := range pf.GetMarks() {
			if len(m.ProtoReflect().GetUnknown()) != 0 {
				return frame{}, fmt.Errorf("unknown field in mark: %w", ErrProtocol)
			}
			if len(m.GetAuthor()) != authorLen {
				return frame{}, fmt.Errorf("author of %d bytes: %w", len(m.GetAuthor()), ErrProtocol)
			}
			if m.GetSeq() == 0 && m.GetBusy() == 0 {
				return frame{}, fmt.Errorf("zero mark: %w", ErrProtocol)
			}
			if m.GetBusy() != 0 && m.GetBusy() <= m.GetSeq() {
				return frame{}, fmt.Errorf("busy mark %d not above held mark %d: %w", m.GetBusy(), m.GetSeq(), ErrProtocol)
			}
			if prev != nil && bytes.Compare(prev, m.GetAuthor()) >= 0 {
				return frame{}, fmt.Errorf("authors not in ascending order: %w", ErrProtocol)
			}
			prev = m.GetAuthor()
			if m.GetSeq() != 0 {
				f.marks[[authorLen]byte(prev)] = m.GetSeq()
			}
			if m.GetBusy() != 0 {
				f.busy[[authorLen]byte(prev)] = m.GetBusy()
			}
		}
	case syncpb.Kind_KIND_BATCH:
		if nMarks != 0 {
			return frame{}, fmt.Errorf("marks in a batch frame: %w", ErrProtocol)
		}
		if nEnvs == 0 {
			return frame{}, fmt.Errorf("empty batch: %w", ErrProtocol)
		}
		for _, e := range pf.GetEnvelopes() {
			if len(e) == 0 {
				return frame{}, fmt.Errorf("empty envelope: %w", ErrProtocol)
			}
		}
		f.envs = pf.GetEnvelopes()
	case syncpb.Kind_KIND_DONE:
		if nMarks != 0 || nEnvs != 0 {
			return frame{}, fmt.Errorf("payload in a done frame: %w", ErrProtocol)
		}
	default:
		return frame{}, fmt.Errorf("unknown frame kind %d: %w", f.kind, ErrProtocol)
	}
	// One encoding per frame: anything the encoder would not have written
	// (unsorted authors, repeated fields, fields out of order) is refused.
	if canon, err := marshalFrame(&pf); err != nil || !bytes.Equal(canon, b) {
		return frame{}, fmt.Errorf("non-canonical frame: %w", ErrProtocol)
	}
	return f, nil
}

// batchEnvelopes copies the n envelopes out of a batch frame that
// decodeFrame has checked. Each gets its own copy, so that an envelope kept
// for later (one whose author or epoch is not known yet) does not keep the
// whole frame in memory.
func batchEnvelopes(b []byte, n int) [][]byte {
	envs := make([][]byte, 0, n)
	for rest := b; len(rest) > 0; {
		num, _, m := protowire.ConsumeTag(rest)
		rest = rest[m:]
		if num == 1 {
			_, m = protowire.ConsumeVarint(rest)
		} else {
			var v []byte
			v, m = protowire.ConsumeBytes(rest)
			envs = append(envs, bytes.Clone(v))
		}
		rest = rest[m:]
	}
	return envs
}

// encodeMarks encodes a high-water map and the marks of what is on its way
// from elsewhere (busy; entries not above the held mark are left out),
// authors in ascending order and authors at zero left out, so that equal
// maps encode to equal bytes.
func encodeMarks(marks, busy map[[authorLen]byte]uint64) ([]byte, error) {
	authors := make([][authorLen]byte, 0, len(marks))
	for a, s := range marks {
		if s != 0 {
			authors = append(authors, a)
		}
	}
	for a, s := range busy {
		if s > 0 && marks[a] == 0 {
			authors = append(authors, a)
		}
	}
	if len(authors) > MaxAuthors {
		return nil, fmt.Errorf("%d authors: %w", len(authors), ErrTooManyAuthors)
	}
	slices.SortFunc(authors, func(x, y [authorLen]byte) int { return bytes.Compare(x[:], y[:]) })
	pf := &syncpb.Frame{Kind: syncpb.Kind_KIND_MARKS, Marks: make([]*syncpb.Mark, len(authors))}
	for i, a := range authors {
		pf.Marks[i] = &syncpb.Mark{Author: a[:], Seq: marks[a]}
		if b := busy[a]; b > marks[a] {
			pf.Marks[i].Busy = b
		}
	}
	return marshalFrame(pf)
}

// appendBatch encodes a batch of envelopes, appended to dst; the caller
// keeps it within MaxBatchEnvelopes and MaxBatchBytes.
func appendBatch(dst []byte, envs [][]byte) ([]byte, error) {
	return appendFrame(dst, &syncpb.Frame{Kind: syncpb.Kind_KIND_BATCH, Envelopes: envs})
}

// encodeDone encodes the frame that ends one side's envelopes of a round.
func encodeDone() ([]byte, error) {
	return marshalFrame(&syncpb.Frame{Kind: syncpb.Kind_KIND_DONE})
}

func marshalFrame(pf *syncpb.Frame) ([]byte, error) {
	return appendFrame(nil, pf)
}

func appendFrame(dst []byte, pf *syncpb.Frame) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(dst, pf)
	if err != nil {
		return nil, fmt.Errorf("encode frame: %w", err)
	}
	if len(b) > MaxFrameSize {
		return nil, fmt.Errorf("frame of %d bytes: %w", len(b), ErrTooLarge)
	}
	return b, nil
}
