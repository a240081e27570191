// Command seedhistory makes a vault with one circle and a long history, to
// measure how the desktop app opens it:
//
//	HEARTH_PASSPHRASE=... go run ./scripts/seedhistory -home /tmp/h -n 10000
//
// The vault gets the app's real key derivation settings; the circle's only
// member posts n messages offline, of every scope, with a content warning
// on every hundredth and a reply on every tenth.
package main
