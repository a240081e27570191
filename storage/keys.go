package storage

import "encoding/binary"

// Tags are the first byte of every Badger key; doc.go lists the layout.
const (
	tagEnvelope = 'e' // 'e' circle author seq → epoch | lamport | flags | envelope
	tagRecord   = 'r' // 'r' circle lamport author seq → epoch | sealed record
	tagHigh     = 'h' // 'h' circle author → high-water mark | highest seq stored
	tagEvidence = 'x' // 'x' circle author seq → epoch | conflicting envelope
	tagKV       = 'k' // 'k' circle len(bucket) bucket key → sealed value
	tagGlobal   = 'g' // 'g' name → 1 | value (Badger's encryption only)
	tagMeta     = 'm' // 'm' name → the store's own bookkeeping
)

// circleTags are the tags whose keys belong to one circle (the circle id
// follows the tag); forgetting a circle drops all of them.
var circleTags = []byte{tagEnvelope, tagRecord, tagHigh, tagEvidence, tagKV}

const (
	idLen = 16
	u64   = 8
	// lengths of whole keys
	envelopeKeyLen = 1 + idLen + idLen + u64
	recordKeyLen   = 1 + idLen + u64 + idLen + u64
	highKeyLen     = 1 + idLen + idLen
)

// markerKeyring records whether the keyring file is being, or has been,
// created for this store (see Store.finishOpen).
var markerKeyring = []byte{tagMeta, 'k', 'e', 'y', 'r', 'i', 'n', 'g'}

// circlePrefix returns tag | circle.
func circlePrefix(tag byte, circle [16]byte) []byte {
	k := make([]byte, 1+idLen, 1+idLen+u64+idLen+u64)
	k[0] = tag
	copy(k[1:], circle[:])
	return k
}

func envelopeKey(circle, author [16]byte, seq uint64) []byte {
	return authorSeqKey(tagEnvelope, circle, author, seq)
}

func evidenceKey(circle, author [16]byte, seq uint64) []byte {
	return authorSeqKey(tagEvidence, circle, author, seq)
}

func authorSeqKey(tag byte, circle, author [16]byte, seq uint64) []byte {
	k := make([]byte, envelopeKeyLen)
	k[0] = tag
	copy(k[1:], circle[:])
	copy(k[1+idLen:], author[:])
	binary.BigEndian.PutUint64(k[1+2*idLen:], seq)
	return k
}

// authorPrefix is 'e' circle author: the prefix of one author's envelopes.
func authorPrefix(circle, author [16]byte) []byte {
	k := make([]byte, 1+2*idLen)
	k[0] = tagEnvelope
	copy(k[1:], circle[:])
	copy(k[1+idLen:], author[:])
	return k
}

func recordKey(circle [16]byte, lamport uint64, author [16]byte, seq uint64) []byte {
	k := make([]byte, recordKeyLen)
	k[0] = tagRecord
	copy(k[1:], circle[:])
	binary.BigEndian.PutUint64(k[1+idLen:], lamport)
	copy(k[1+idLen+u64:], author[:])
	binary.BigEndian.PutUint64(k[1+idLen+u64+idLen:], seq)
	return k
}

func highKey(circle, author [16]byte) []byte {
	k := make([]byte, highKeyLen)
	k[0] = tagHigh
	copy(k[1:], circle[:])
	copy(k[1+idLen:], author[:])
	return k
}

// bucketPrefix is 'k' circle len(bucket) bucket; the caller has checked
// that the bucket is 1..MaxBucketLen bytes.
func bucketPrefix(circle [16]byte, bucket string) []byte {
	k := make([]byte, 0, 1+idLen+1+len(bucket)+64)
	k = append(k, tagKV)
	k = append(k, circle[:]...)
	k = append(k, byte(len(bucket)))
	return append(k, bucket...)
}

func kvKey(circle [16]byte, bucket string, key []byte) []byte {
	return append(bucketPrefix(circle, bucket), key...)
}

func globalKey(name []byte) []byte {
	k := make([]byte, 1+len(name))
	k[0] = tagGlobal
	copy(k[1:], name)
	return k
}

// parseAuthorSeq reads author and seq from an 'e' or 'x' key.
func parseAuthorSeq(k []byte) (author [16]byte, seq uint64, ok bool) {
	if len(k) != envelopeKeyLen {
		return author, 0, false
	}
	copy(author[:], k[1+idLen:])
	return author, binary.BigEndian.Uint64(k[1+2*idLen:]), true
}

// parseRecordKey reads lamport, author and seq from an 'r' key.
func parseRecordKey(k []byte) (c Cursor, ok bool) {
	if len(k) != recordKeyLen {
		return c, false
	}
	c.Lamport = binary.BigEndian.Uint64(k[1+idLen:])
	copy(c.Author[:], k[1+idLen+u64:])
	c.Seq = binary.BigEndian.Uint64(k[1+idLen+u64+idLen:])
	return c, true
}
