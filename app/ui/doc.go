// Package ui holds Hearth's desktop views, built with Fyne: the list of the
// member's circles, the chat view of the selected circle with its composer,
// and the dialogs that create a circle, issue an invite and join with one;
// and the facilitation and consent screens (facilitate*.go): members and
// roles, guidelines, moderation of posts, events, retention, insights, the
// library and welcome packs, and the panic wipe.
//
// The views depend on the core only through the small interfaces declared
// here (Core, satisfied by *app.Hearth), never on its internals or on the
// command that starts the program, so they can be tested against a real
// core through fyne.io/fyne/v2/test without a display. Every widget is
// touched on the UI goroutine; slow calls into the core (posting, joining,
// issuing invites) run through Options.Go and report back through
// Options.Do, which defaults to fyne.Do. Events from the core are read by
// one goroutine per Main that Close stops and waits for.
package ui
