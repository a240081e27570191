// Package app is Hearth's core: the vault on disk, circles, posting,
// membership, the sync policy and events. It wires the pure functions of
// crypto/..., the encrypted store of storage and the libp2p nodes of p2p
// into the operations the desktop app and the headless node offer, and it
// never imports Fyne, so everything here runs and is tested without a
// display.
//
// The vault is a home directory holding a small header file ("vault"), the
// store that package storage owns ("keyring" and "store/"), and a lock file
// ("lock"). The header keeps the store's random 32-byte key wrapped under a
// key derived from the member's passphrase, so a wrong passphrase fails
// before anything is opened, and changing the passphrase rewrites only that
// header, atomically. Unlocking takes an exclusive lock on the lock file
// before the deliberately slow key derivation, so a second Hearth on the same
// vault is told at once that the vault is in use; where no such lock exists,
// the store's own directory lock gives the same answer.
//
// A Hearth is an unlocked vault's circles. Each circle keeps, sealed in the
// store, its state (name, this member's per-circle identity and peer key, the
// current epoch, the Lamport clock), its roster and the invites it knows of;
// epoch secrets live in the store's keyring. Every record this member writes
// is sealed into an envelope, applied and stored first, then published, so a
// crash can never reuse a sequence number; offline, it simply waits in the
// store and reaches the others through catch-up sync. Every envelope
// received, by gossip or by sync, goes through one path: parse, find the
// epoch key (or hold it, within bounds, until the key arrives), decrypt,
// verify the author's signature against the roster, apply (membership,
// commits, invites, presence, guidelines) and store, idempotently. The gossip
// validator runs that whole path, so a forged record is never forwarded.
//
// Joining: the newcomer dials the inviter under the one-time identity its
// invite code yields and proves the code's secret over /hearth/join/1; the
// admitting member publishes member-joined and a commit that seals a new
// epoch secret to everyone including the newcomer, and answers with the
// roster, the guidelines, where the newcomer's log starts, and the welcome
// pack: the records whose authors consented (scope future or resource), with
// their original signatures, which the newcomer verifies. Sync never serves a
// member what was said in epochs before it joined.
package app
