// Package storage is Hearth's encrypted local store: each circle's log of
// envelopes and decoded records, its sealed key-value buckets (roster,
// identity, settings, invites) and its keys, kept in a home directory on
// Badger v4 so that nothing readable is left without the vault's store key,
// and so that forgetting a circle or an old epoch is destroying keys
// (crypto-shredding) rather than hoping deleted bytes are gone.
//
// # Files
//
// A home directory holds "vault" (the passphrase-wrapped store key, written
// by package app), "lock" (app's), and this package's "keyring" and "store/"
// (the Badger directory). Open first takes an exclusive lock on
// store/hearth.lock (flock on Unix, a handle without sharing on Windows; on
// other systems Badger's own directory lock), so a second Hearth on the same
// home, in this process or another, gets ErrInUse and nothing else is read
// or written.
//
// Badger runs with the store key as its AES-256 encryption key, a 16 MiB
// index cache and a 32 MiB block cache, two memtables of 8 MiB (of 2 MiB
// for the desktop, Options.MemTableSize: Badger holds a memtable's whole
// arena, 10.5 or 2.6 MiB, for as long as the store is open), 64 MiB
// value-log files, no compression (the values are ciphertext), value-log
// checksums verified, and its logger routed to the caller's slog at warning
// level. Values under the value threshold (ValueThreshold: 1 MiB with 8 MiB
// memtables, 163 KiB with 2 MiB ones, the most a memtable's largest
// transaction allows beside a largest record) stay in the LSM tree, so the
// value log serves only the rare larger value (gossip carries envelopes of
// at most 72 KiB; Hearth keeps welcome packs in chunks under 128 KiB) and
// needs no garbage collection in practice. Only a crash leaves memtable
// logs behind; Badger replays each into an arena of the configured size
// and ends the process when one overflows, which a log written with larger
// memtables can make happen. So when a log holds more than half a
// configured memtable (its data ends at its last non-zero byte), Open first
// opens Badger with memtables of twice that data, closes it (which flushes
// the logs into tables) and then opens it as configured.
// Conflict detection is off because the store serialises its writes itself.
// Close merges level 0 into the tree (Badger's CompactL0OnClose): each
// session otherwise leaves a level-0 table behind, and every few sessions
// the next open would start with a compaction, at the moment the member is
// reading the circle (measured with the desktop app: 6 to 10 MB more
// resident memory, and 173 collections in two idle minutes against 30-34);
// and what was retracted or expired during the session leaves the tables
// at close, not some sessions later. It costs the close a merge of the
// session's writes into level 1.
// Iterators do not prefetch values: they are small and inline, and Badger
// would start a goroutine per item to fetch them. Measured with a circle of
// 100,000 entries: about 70 MB resident once open (25 MiB of Go heap), and
// about 290 MB at the peak of writing all of it in one go.
// Entries and key-value writes marked durable call Badger's Sync after
// commit. Every write first checks the free space on the store's disk and is
// refused with ErrDiskFull (wrapping ENOSPC) below 64 MiB: Badger writes its
// memtable logs and tables through memory maps, and a mapped write the disk
// has no room for is a SIGBUS that ends the process.
//
// Every table is verified when the store opens and every block when it is
// read. The whole-table check runs in Open's own goroutines, through
// Badger's table code, before Badger starts: Badger's open-time check
// (OnTableRead) runs in goroutines of its own, where some damage panics
// beyond any recover, and would read every table a second time. A table
// whose bytes are those this store wrote or checked before (a stamp of its
// size and CRC-32C, kept in an authenticated file when the store closes)
// gets only the index and last-block checks Badger makes to open it, so an
// open costs a read of each table rather than its decryption. Open also
// refuses (ErrCorrupt), before Badger opens, a home where the keyring exists
// but store/ does not; a store whose MANIFEST is missing (Badger would start
// a new one and delete the tables) or whose last manifest change is cut short
// with no memtable log present (no crash leaves that; Badger would drop the
// change and delete its tables); a missing KEYREGISTRY (Badger would make
// data keys that cannot read the old files) or one whose entry lengths run
// past its end; and a memtable or value log too short for its header or
// naming an unknown data key. A wrong store key is ErrWrongKey. A panic
// inside Badger during Open, or during any call, is recovered and returned
// as ErrCorrupt. What remains is damage Badger itself reports (ErrCorrupt),
// or a torn log tail it legitimately drops after a crash.
//
// # Keyring
//
// Badger's encryption is unauthenticated AES-CTR and deleted data lingers in
// its tables and logs until compaction, so per-circle secrets are not kept
// in Badger but in the keyring file: for each circle a random 32-byte root
// key, a shredding floor (epochs below it have no keys) and a cleared mark
// (epochs below it have no entries in Badger), and per epoch the epoch secret and the epoch
// storage key (opaque 32-byte values supplied by the caller). The file is
// rewritten whole on every change, atomically (temporary file in the same
// directory, fsync, rename, fsync of the directory), and is:
//
//	magic "HRTHKRNG" (8) | version 1 (1) | nonce (24) | sealed payload
//
// sealed with XChaCha20-Poly1305 under HKDF-SHA256(store key, no salt,
// info "hearth/v1 keyring"), with magic and version as associated data. The
// payload, all integers big-endian, with no trailing bytes:
//
//	u32 circle count, then per circle, ids strictly ascending:
//	    id (16) | root key (32) | floor u64 | cleared u64 (<= floor) |
//	    u32 epoch count,
//	    then per epoch, strictly ascending and none below the floor:
//	        epoch u64 | epoch secret (32) | epoch storage key (32)
//	u32 tombstone count, then per tombstone, strictly ascending:
//	    circle id (16) of a forgotten circle whose Badger keys may remain
//
// Counts are checked against the remaining bytes before anything is
// allocated. A marker key in Badger ('m' "keyring") is set, and synced,
// before the keyring file is first written, and marked done after: a
// keyring file without the marker means Badger lost data (its oldest writes
// are gone), and a done marker without the file means the keyring was lost;
// both are ErrCorrupt rather than a store silently started afresh.
//
// Forgetting a circle removes its keyring entry and adds a tombstone (synced)
// and then drops every Badger key of the circle; Open finishes a drop that a
// crash interrupted. Shredding the epochs before n removes their keys from
// the keyring and raises the circle's floor to n (synced), then deletes
// those epochs' entries in one pass over the circle's log and raises the
// cleared mark to n; entries below the floor are refused afterwards
// (ErrShredded), and Open finishes a deletion whose cleared mark lags.
//
// # Sealed values
//
// A value that belongs to a circle and is not already ciphertext is sealed:
//
//	version 1 (1) | nonce (24, random) | XChaCha20-Poly1305 ciphertext and tag
//
// with the Badger key as associated data (so a value cannot be moved to
// another key), under the circle's root key for key-value buckets, or under
// the epoch's storage key for decoded records. Envelopes and equivocation
// evidence are stored as received: they are ciphertext under content keys
// the store never holds, which is how a mailbox stores circles it cannot
// read.
//
// # Key layout
//
// The first byte of a key is its kind; ids are 16 bytes; numbers are
// fixed-width big-endian so that Badger's byte order is numeric order. A
// circle's log, an author's sequence range and the latest page of a circle
// are single prefix scans.
//
//	'e' circle author seq            → epoch u64 | lamport u64 | flags u8 |
//	                                   envelope as received (flag 1: a
//	                                   record is stored under that Lamport
//	                                   clock); what Count and shredding walk
//	'r' circle lamport author seq    → epoch u64 | sealed record
//	                                   (AAD = key | epoch); display order is
//	                                   Lamport, then author, then seq, so the
//	                                   latest page is one reverse scan
//	'h' circle author                → mark u64 | top u64: the contiguous
//	                                   high-water mark, and the highest seq
//	                                   ever stored (no lookup is needed for
//	                                   a seq above it)
//	'x' circle author seq            → epoch u64 | first conflicting envelope
//	'k' circle len(bucket) bucket key → sealed value (AAD = key)
//	'g' name                         → 1 | global value (Badger encryption only)
//	'm' "keyring"                    → keyring marker: 1 creating, 2 created
//
// No stored value is empty: Badger returns an empty value without an error
// when a value in its value log cannot be read or fails its checksum, so an
// empty value is reported as ErrCorrupt. An entry's 'e' and 'r' keys (and
// its 'x' evidence) carry its TTL as Badger's expiry, rounded up to whole
// seconds; marks never expire.
//
// # Log semantics
//
// Append is idempotent on circle, author and sequence number: the first
// envelope for a slot is kept; the same one again is a no-op, a different one
// is recorded as evidence (the first such only) and reported as
// ErrEquivocation. An author's high-water mark is the highest s such that
// 1..s have all been stored; with it, the author's mark records the highest
// sequence number ever stored, so an entry above it needs no lookup. The
// mark advances when the next sequence number arrives, over any later ones
// already stored, probing one key per stored successor: the work is bounded
// by what is stored, never by a gap, so a sequence number of 2^63 is stored
// as itself and leaves the mark alone. SetFloor raises a mark without
// storing anything, for a member who joins late and has no right to what
// came before. Slots at or below the mark that hold no envelope (below a
// floor, expired, shredded) are not filled again. Writes
// are serialised by one mutex, so the read-check-write of each append is
// race-free without Badger's conflict detection, and the marks are kept in
// memory, written through, so HighWater does not touch Badger after its
// first call for a circle.
package storage
