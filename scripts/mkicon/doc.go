// Command mkicon draws Hearth's application icon: a warm flame on two logs in
// a rounded square, 512x512 pixels, written as PNG.
//
//	go run ./scripts/mkicon -o assets/icon.png
//
// Each shape is a function that says whether a point lies inside it; every
// pixel is sampled on a 4x4 grid for smooth edges, and the shapes are laid
// over one another back to front. The output is the same on every run.
package main
