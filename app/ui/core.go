package ui

import (
	"context"

	"fyne.io/fyne/v2"

	"github.com/hearth-circles/hearth/app"
)

// Circles lists the vault's circles and creates new ones.
type Circles interface {
	Circles() []app.CircleInfo
	CreateCircle(ctx context.Context, name, nick string) (app.CircleID, error)
}

// Chat reads and writes one circle's history.
type Chat interface {
	Post(ctx context.Context, id app.CircleID, opt app.PostOptions) (app.Message, error)
	History(id app.CircleID, before string, limit int) ([]app.Message, error)
}

// Invites issues invite codes and joins circles with them.
type Invites interface {
	Invite(ctx context.Context, id app.CircleID, opt app.InviteOptions) (string, error)
	Join(ctx context.Context, code, nick string) (app.CircleID, error)
}

// Events tells the views what changed.
type Events interface {
	Subscribe() (<-chan app.Event, func())
}

// Core is everything the views need from Hearth's core.
type Core interface {
	Circles
	Chat
	Invites
	Events
	Agreements
	Roster
	Reacting
}

// Reacting answers posts with one of app.Reactions.
type Reacting interface {
	React(ctx context.Context, id app.CircleID, target, reaction string) error
}

var _ Core = (*app.Hearth)(nil)

// Options say how the views run work.
type Options struct {
	// Go runs slow work off the UI goroutine; nil starts a goroutine.
	Go func(work func())
	// Do runs f on the UI goroutine; nil is fyne.Do.
	Do func(f func())
	// Account is the open vault, for the settings; nil shows no settings.
	Account Account
	// Lock closes the vault and returns to the unlock screen; nil offers
	// no Lock.
	Lock func()
	// OnSettings is told of the settings when the view starts and after
	// each change (to arm the auto-lock, say); may be nil.
	OnSettings func(app.Settings)
	// Notify shows a notification; nil sends it through the app.
	Notify func(*fyne.Notification)
	// Activity is told when the member types, taps or scrolls in the
	// views (for the auto-lock); may be nil.
	Activity func()
}

func (o Options) withDefaults() Options {
	if o.Go == nil {
		o.Go = func(work func()) { go work() }
	}
	if o.Do == nil {
		o.Do = fyne.Do
	}
	if o.Notify == nil {
		o.Notify = func(n *fyne.Notification) { fyne.CurrentApp().SendNotification(n) }
	}
	return o
}
