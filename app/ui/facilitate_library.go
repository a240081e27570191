package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Texts the member reads; tests look for them.
const (
	textLibraryTitle  = "Library"
	textNoResources   = "The library is empty. Facilitators add resources; members share a post as a resource."
	textAddResource   = "Add a resource…"
	textAddOK         = "Add"
	textExportPack    = "Export welcome pack…"
	textExportTitle   = "Export the welcome pack"
	textExportExplain = "The pack holds only what its authors agreed to share with later members, with their signatures. It is locked with a passphrase: pass the passphrase on separately from the file (say it in person or on a call), never in the same message."
	textExportOK      = "Export"
	textPackTooShort  = "Use at least 8 characters."
	textPackMismatch  = "The two passphrases do not match."
	textPackExported  = "Saved. Pass the passphrase on separately."
	textOpenTitle     = "Open a welcome pack"
	textOpenExplain   = "A facilitator gave you a pack file and, separately, its passphrase. Its items are checked against their authors' signatures."
	textOpenChoose    = "Choose the file…"
	textOpenOK        = "Open"
	textKeep          = "Keep it in Hearth"
	textKept          = "Kept in Hearth: you can read it here any time."
	textKeptAlready   = "Hearth already holds this pack (or a newer one)."
	textPackWrongPass = "Wrong passphrase for this pack."
	textNotAPack      = "This file is not a Hearth welcome pack."
	textKeptPacks     = "Welcome packs kept in Hearth"
	textChooseFirst   = "Choose the pack file first."
)

// libraryView lists a circle's resources; facilitators add resources and
// export the welcome pack.
type libraryView struct {
	win  fyne.Window
	core Facilitation
	opt  Options
	info app.CircleInfo

	items  []app.Resource
	box    *fyne.Container
	status *widget.Label
	add    *widget.Button // nil for members
	export *widget.Button // nil for members

	// The step last opened, kept for tests.
	resTitle, resText, resLink *widget.Entry
	pass, repeat               *widget.Entry
	confirm                    *widget.Button
	// save writes a file the member chose; tests replace it.
	save func(name string, data []byte)
}

func showLibrary(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo) *libraryView {
	v := &libraryView{win: win, core: core, opt: opt, info: info, box: container.NewVBox(), status: widget.NewLabel("")}
	v.status.Wrapping = fyne.TextWrapWord
	v.save = func(name string, data []byte) { saveFile(win, name, data, v.status) }
	v.reload()
	bottom := container.NewVBox(v.status)
	if info.Role == app.RoleFacilitator {
		v.add = widget.NewButton(textAddResource, v.askAdd)
		v.export = widget.NewButton(textExportPack, v.askExport)
		bottom.Add(container.NewHBox(v.add, v.export))
	}
	scroll := container.NewVScroll(v.box)
	scroll.SetMinSize(fyne.NewSize(540, 320))
	dialog.NewCustom(textLibraryTitle+" — "+info.Name, "Close", container.NewBorder(nil, bottom, nil, nil, scroll), win).Show()
	return v
}

func (v *libraryView) reload() {
	items, err := v.core.Library(v.info.ID)
	if err != nil {
		failText(v.status, "Could not read the library: "+err.Error())
		return
	}
	v.items = items
	fillResources(v.box, items, textNoResources)
}

// fillResources shows resources in box, or empty when there are none.
func fillResources(box *fyne.Container, items []app.Resource, empty string) {
	box.Objects = nil
	if len(items) == 0 {
		l := widget.NewLabel(empty)
		l.Wrapping = fyne.TextWrapWord
		box.Add(l)
	}
	for _, r := range items {
		title := widget.NewLabelWithStyle(r.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		title.Wrapping = fyne.TextWrapWord
		lines := []string{}
		if r.Text != "" && r.Text != r.Title {
			lines = append(lines, r.Text)
		}
		if r.Link != "" {
			lines = append(lines, "Link: "+r.Link)
		}
		by := "shared"
		if r.AuthorNick != "" {
			by = "shared by " + r.AuthorNick
		}
		lines = append(lines, by+", "+r.SentAt.Local().Format("2 Jan 2006"))
		body := widget.NewLabel(strings.Join(lines, "\n"))
		body.Wrapping = fyne.TextWrapWord
		box.Add(container.NewVBox(title, body, widget.NewSeparator()))
	}
	box.Refresh()
}

func (v *libraryView) askAdd() {
	v.resTitle, v.resText, v.resLink = widget.NewEntry(), widget.NewMultiLineEntry(), widget.NewEntry()
	v.resTitle.SetPlaceHolder("Title")
	v.resText.SetPlaceHolder("A few lines about it")
	v.resText.SetMinRowsVisible(4)
	v.resLink.SetPlaceHolder("A link (optional)")
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	v.confirm = widget.NewButton(textAddOK, nil)
	v.confirm.Importance = widget.HighImportance
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(textAddResource, sized(container.NewVBox(v.resTitle, v.resText, v.resLink, status, container.NewHBox(cancel, v.confirm)), 460), v.win)
	cancel.OnTapped = d.Hide
	confirm := v.confirm
	ro := func() app.ResourceOptions {
		return app.ResourceOptions{Title: strings.TrimSpace(v.resTitle.Text), Text: strings.TrimSpace(v.resText.Text), Link: strings.TrimSpace(v.resLink.Text)}
	}
	confirm.OnTapped = func() {
		opt := ro()
		if opt.Title == "" {
			failText(status, "Give the resource a title.")
			return
		}
		confirm.Disable()
		call(v.opt, func(ctx context.Context) error {
			_, err := v.core.AddResource(ctx, v.info.ID, opt)
			return err
		}, func(err error) {
			if err != nil {
				confirm.Enable()
				failText(status, "Could not add: "+err.Error())
				return
			}
			d.Hide()
			v.reload()
		})
	}
	d.Show()
	v.win.Canvas().Focus(v.resTitle)
}

func (v *libraryView) askExport() {
	v.pass, v.repeat = widget.NewPasswordEntry(), widget.NewPasswordEntry()
	v.pass.SetPlaceHolder("A passphrase for the pack")
	v.repeat.SetPlaceHolder("The same passphrase again")
	explain := widget.NewLabel(textExportExplain)
	explain.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	v.confirm = widget.NewButton(textExportOK, nil)
	v.confirm.Importance = widget.HighImportance
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(textExportTitle, sized(container.NewVBox(explain, v.pass, v.repeat, status, container.NewHBox(cancel, v.confirm)), 480), v.win)
	cancel.OnTapped = d.Hide
	confirm, pass, repeat := v.confirm, v.pass, v.repeat
	confirm.OnTapped = func() {
		switch {
		case len([]rune(pass.Text)) < 8:
			failText(status, textPackTooShort)
			return
		case pass.Text != repeat.Text:
			failText(status, textPackMismatch)
			return
		}
		phrase := []byte(pass.Text)
		confirm.Disable()
		infoText(status, "Locking the pack…")
		var data []byte
		call(v.opt, func(context.Context) error {
			var err error
			data, err = v.core.ExportPack(v.info.ID, phrase)
			clear(phrase)
			return err
		}, func(err error) {
			if err != nil {
				confirm.Enable()
				failText(status, "Could not export: "+err.Error())
				return
			}
			d.Hide()
			infoText(v.status, textPackExported)
			v.save(packFileName(v.info.Name), data)
		})
	}
	d.Show()
	v.win.Canvas().Focus(v.pass)
}

func packFileName(circle string) string {
	return strings.TrimSuffix(calendarName(circle), ".ics") + " welcome pack.hearthpack"
}

// packOpener opens a welcome pack file: it shows what the pack holds, and
// keeps it in the vault as a read-only library when asked; it also lists
// the packs already kept.
type packOpener struct {
	win  fyne.Window
	core Facilitation
	opt  Options

	file   []byte
	name   *widget.Label
	choose *widget.Button
	pass   *widget.Entry
	open   *widget.Button
	keep   *widget.Button
	status *widget.Label
	items  *fyne.Container
	kept   *fyne.Container
	packs  []app.PackInfo
	shown  *app.Pack // the pack on show, once opened

	// choose asks for a file; tests replace it.
	chooseFile func(use func(name string, data []byte))
}

func showPackOpener(win fyne.Window, core Facilitation, opt Options) *packOpener {
	p := &packOpener{
		win: win, core: core, opt: opt, name: widget.NewLabel(""), pass: widget.NewPasswordEntry(),
		status: widget.NewLabel(""), items: container.NewVBox(), kept: container.NewVBox(),
	}
	p.status.Wrapping = fyne.TextWrapWord
	p.chooseFile = func(use func(string, []byte)) { openFile(win, 16<<20, p.status, use) }
	p.choose = widget.NewButton(textOpenChoose, func() { p.chooseFile(p.setFile) })
	p.pass.SetPlaceHolder("The pack's passphrase")
	p.open = widget.NewButton(textOpenOK, p.openPack)
	p.open.Importance = widget.HighImportance
	p.pass.OnSubmitted = func(string) { p.openPack() }
	p.keep = widget.NewButton(textKeep, p.keepPack)
	p.keep.Disable()
	explain := widget.NewLabel(textOpenExplain)
	explain.Wrapping = fyne.TextWrapWord
	p.reloadKept()
	top := container.NewVBox(explain, container.NewBorder(nil, nil, p.choose, nil, p.name), p.pass,
		container.NewHBox(p.open, p.keep), p.status)
	scroll := container.NewVScroll(container.NewVBox(p.items,
		widget.NewLabelWithStyle(textKeptPacks, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), p.kept))
	scroll.SetMinSize(fyne.NewSize(540, 280))
	dialog.NewCustom(textOpenTitle, "Close", container.NewBorder(top, nil, nil, nil, scroll), win).Show()
	return p
}

func (p *packOpener) setFile(name string, data []byte) {
	p.file = data
	p.name.SetText(name)
	p.shown = nil
	p.keep.Disable()
	p.win.Canvas().Focus(p.pass)
}

func (p *packOpener) openPack() {
	if p.file == nil {
		failText(p.status, textChooseFirst)
		return
	}
	phrase, file := []byte(p.pass.Text), p.file
	p.open.Disable()
	infoText(p.status, "Opening the pack…")
	var pack *app.Pack
	call(p.opt, func(context.Context) error {
		var err error
		pack, err = app.OpenPack(file, phrase)
		clear(phrase)
		return err
	}, func(err error) {
		p.open.Enable()
		if err != nil {
			failText(p.status, packErrorText(err))
			return
		}
		p.shown = pack
		infoText(p.status, fmt.Sprintf("“%s”: %d items, each checked against its author's signature.", pack.Name, len(pack.Items)))
		fillResources(p.items, pack.Items, "This pack holds nothing.")
		p.keep.Enable()
	})
}

func (p *packOpener) keepPack() {
	if p.shown == nil {
		return
	}
	phrase := []byte(p.pass.Text)
	file := p.file
	p.keep.Disable()
	var res app.PackImport
	call(p.opt, func(context.Context) error {
		var err error
		res, err = p.core.ImportPack(file, phrase)
		clear(phrase)
		return err
	}, func(err error) {
		if err != nil {
			p.keep.Enable()
			failText(p.status, packErrorText(err))
			return
		}
		if res.Stale {
			infoText(p.status, textKeptAlready)
		} else {
			infoText(p.status, textKept)
		}
		p.reloadKept()
	})
}

func (p *packOpener) reloadKept() {
	packs, err := p.core.Packs()
	if err != nil {
		failText(p.status, "Could not read the kept packs: "+err.Error())
		return
	}
	p.packs = packs
	p.kept.Objects = nil
	if len(packs) == 0 {
		p.kept.Add(widget.NewLabel("None yet."))
	}
	for _, info := range packs {
		id := info.Circle
		b := widget.NewButton(fmt.Sprintf("%s — %d items, exported %s", info.Name, info.Items, info.Exported.Local().Format("2 Jan 2006")), func() {
			pack, err := p.core.PackLibrary(id)
			if err != nil {
				failText(p.status, "Could not read the pack: "+err.Error())
				return
			}
			p.shown = nil
			p.keep.Disable()
			infoText(p.status, "“"+pack.Name+"”, kept in Hearth.")
			fillResources(p.items, pack.Items, "This pack holds nothing.")
		})
		b.Alignment = widget.ButtonAlignLeading
		p.kept.Add(b)
	}
	p.kept.Refresh()
}

func packErrorText(err error) string {
	switch {
	case errors.Is(err, app.ErrPackPassphrase):
		return textPackWrongPass
	case errors.Is(err, app.ErrPack):
		return textNotAPack
	}
	return "Could not open the pack: " + err.Error()
}
