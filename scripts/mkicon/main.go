package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

const (
	size    = 512
	samples = 4 // per axis, per pixel
)

// rgb is a colour with components in 0..1.
type rgb struct{ r, g, b float64 }

func hex(v uint32) rgb {
	return rgb{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255}
}

func mix(a, b rgb, t float64) rgb {
	t = math.Max(0, math.Min(1, t))
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}

// layer is one shape: where it is, its colour at a point, and its opacity.
type layer struct {
	inside  func(x, y float64) bool
	colour  func(x, y float64) rgb
	opacity func(x, y float64) float64 // nil means opaque
}

// roundedSquare reports whether (x, y) is inside the square [lo, hi]² with
// corners of radius r.
func roundedSquare(lo, hi, r float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		cx := math.Max(lo+r, math.Min(hi-r, x))
		cy := math.Max(lo+r, math.Min(hi-r, y))
		dx, dy := x-cx, y-cy
		return x >= lo && x <= hi && y >= lo && y <= hi && dx*dx+dy*dy <= r*r
	}
}

// teardrop is a flame shape with its rounded base centred at (cx, base), its
// tip height h above the base, half-width scale w, and the tip leaning
// sideways by lean. Along the height, with v from -1 (base) to 1 (tip), the
// half-width is w·sin t·sin^1.5(t/2) where v = cos t: round below, pointed
// above.
func teardrop(cx, base, h, w, lean float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		v := 2*(base-y)/h - 1
		if v < -1 || v > 1 {
			return false
		}
		t := math.Acos(v)
		half := w * math.Sin(t) * math.Pow(math.Sin(t/2), 1.5)
		u := (v + 1) / 2 // 0 at the base, 1 at the tip
		centre := cx + lean*u*u
		return math.Abs(x-centre) <= half
	}
}

// woodLog is a bar with rounded ends from (x0, y0) to (x1, y1), of radius r.
func woodLog(x0, y0, x1, y1, r float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		return segmentDistance(x, y, x0, y0, x1, y1) <= r
	}
}

func segmentDistance(x, y, x0, y0, x1, y1 float64) float64 {
	dx, dy := x1-x0, y1-y0
	t := ((x-x0)*dx + (y-y0)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	px, py := x0+t*dx-x, y0+t*dy-y
	return math.Hypot(px, py)
}

func disc(cx, cy, r float64) func(x, y float64) bool {
	return func(x, y float64) bool { return math.Hypot(x-cx, y-cy) <= r }
}

func solid(c rgb) func(x, y float64) rgb { return func(float64, float64) rgb { return c } }

// vertical is a gradient from top colour at y0 to bottom colour at y1.
func vertical(top, bottom rgb, y0, y1 float64) func(x, y float64) rgb {
	return func(_, y float64) rgb { return mix(top, bottom, (y-y0)/(y1-y0)) }
}

func layers() []layer {
	background := roundedSquare(16, size-16, 104)
	const (
		logY    = 408.0
		logHalf = 150.0
		logR    = 21.0
	)
	tilt := math.Tan(10 * math.Pi / 180)
	return []layer{
		{inside: background, colour: vertical(hex(0x3b2335), hex(0x5c2f2b), 16, size-16)},
		// A soft glow of firelight behind the flame.
		{
			inside: background,
			colour: solid(hex(0xf2a03d)),
			opacity: func(x, y float64) float64 {
				d := math.Hypot(x-256, (y-300)*1.1) / 230
				return 0.38 * math.Max(0, 1-d*d)
			},
		},
		// Two crossed logs, each with a lighter cut end.
		{inside: woodLog(256-logHalf, logY-logHalf*tilt, 256+logHalf, logY+logHalf*tilt, logR), colour: solid(hex(0x7a4429))},
		{inside: woodLog(256-logHalf, logY+logHalf*tilt, 256+logHalf, logY-logHalf*tilt, logR), colour: solid(hex(0x8e5232))},
		{inside: disc(256+logHalf, logY+logHalf*tilt, logR-5), colour: solid(hex(0xd39a63))},
		{inside: disc(256-logHalf, logY+logHalf*tilt, logR-5), colour: solid(hex(0xd39a63))},
		// The flame: outer, middle and core.
		{inside: teardrop(256, 410, 318, 150, -14), colour: vertical(hex(0xd9432a), hex(0xef7a2b), 92, 410)},
		{inside: teardrop(258, 404, 220, 104, 12), colour: vertical(hex(0xf39a2e), hex(0xf7b43b), 184, 404)},
		{inside: teardrop(258, 398, 122, 64, -6), colour: vertical(hex(0xffd36e), hex(0xfff1c4), 276, 398)},
	}
}

// render composites the layers back to front, premultiplied, sampling each
// pixel's coverage of each layer on a samples×samples grid.
func render() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	ls := layers()
	for py := range size {
		for px := range size {
			var r, g, b, a float64
			cx, cy := float64(px)+0.5, float64(py)+0.5
			for _, l := range ls {
				hits := 0
				for sy := range samples {
					for sx := range samples {
						x := float64(px) + (float64(sx)+0.5)/samples
						y := float64(py) + (float64(sy)+0.5)/samples
						if l.inside(x, y) {
							hits++
						}
					}
				}
				if hits == 0 {
					continue
				}
				alpha := float64(hits) / (samples * samples)
				if l.opacity != nil {
					alpha *= l.opacity(cx, cy)
				}
				c := l.colour(cx, cy)
				r = c.r*alpha + r*(1-alpha)
				g = c.g*alpha + g*(1-alpha)
				b = c.b*alpha + b*(1-alpha)
				a = alpha + a*(1-alpha)
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(math.Round(255 * r / a)),
				G: uint8(math.Round(255 * g / a)),
				B: uint8(math.Round(255 * b / a)),
				A: uint8(math.Round(255 * a)),
			})
		}
	}
	return img
}

func main() {
	out := flag.String("o", "icon.png", "write the PNG to this file")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkicon:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, render()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
