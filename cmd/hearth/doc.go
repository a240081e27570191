// Command hearth is Hearth's desktop app: a Fyne window over the core in
// package app. It is wiring only. On first run it asks for a passphrase and
// creates the vault (the encrypted local history) in the home directory,
// $XDG_DATA_HOME/hearth or ~/.local/share/hearth unless --home says
// otherwise; later runs ask for the passphrase to unlock it, with a growing
// wait after each wrong one. Once the vault is open it loads the circles
// into an app.Hearth, shows them with the views of package app/ui, and
// brings them online. The slow key derivation and going online run off the
// UI goroutine and report back through fyne.Do. Lock stops the views, takes
// the circles offline, closes the vault and returns to the unlock screen.
package main
