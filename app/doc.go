// Package app is Hearth's core: the vault on disk, and (as it grows) circles,
// posting, membership, sync policy and events. It wires the pure functions of
// crypto/..., the encrypted store of storage and the libp2p nodes of p2p into
// the operations the desktop app and the headless node offer, and it never
// imports Fyne, so everything here runs and is tested without a display.
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
package app
