// Package assets holds the files Hearth ships inside its binary: the
// application icon and the default guidelines a new circle starts with.
// They are embedded with go:embed, so the desktop app and the headless node
// need nothing beside the executable. The icon is drawn by
// scripts/mkicon and committed as PNG; the guidelines are plain Markdown a
// facilitator may edit for their own circle.
package assets
