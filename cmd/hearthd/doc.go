// Command hearthd is Hearth's headless node and command line: the same core
// as the desktop app, without a display, built with CGO_ENABLED=0.
//
// "hearthd serve" unlocks the vault in a home directory, brings every circle
// online and stays up until SIGINT or SIGTERM. While it runs, the other
// commands (circle, invite, join, post, read, members, remove, leave) reach
// it through a unix socket in the home directory, mode 0600, speaking
// newline-delimited JSON, one request per connection; when no serve answers
// they unlock the vault themselves, work offline and close it again (join,
// remove and leave go online for their duration). Both paths go through one
// backend interface: a local implementation calls the core directly, a
// remote one sends the request over the socket, and serve answers each
// request by calling its local implementation, so a command behaves the
// same either way. The command line is a contract for scripts: a command
// prints its result on stdout (ids, codes, or one JSON object a line with
// --json); any error is one line on stderr, and the exit status is 0 for
// success, 1 for a usage error and 2 for a failure. Secrets (the passphrase,
// keys) are never printed or logged; logs go to stderr only with --verbose.
package main
