package assets

import _ "embed"

//go:generate go run ../scripts/mkicon -o icon.png

// Icon is Hearth's application icon, a 512x512 PNG.
//
//go:embed icon.png
var Icon []byte

// Guidelines is the default text of a new circle's guidelines, in Markdown.
//
//go:embed guidelines.md
var Guidelines string
