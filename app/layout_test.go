package app

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/hearth-circles/hearth"

type listedPackage struct {
	ImportPath string
	Doc        string
	Imports    []string
	Standard   bool
}

// listPackages lists the module's packages with the go command.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

// TestImportRules holds the layout of the design: imports flow one way,
// cmd -> app/ui -> app -> {p2p, crypto/..., storage}; the three leaves never
// import each other, app or Fyne, and nothing but the desktop side imports
// Fyne.
func TestImportRules(t *testing.T) {
	rel := func(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }
	under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	for _, p := range listPackages(t) {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			to := rel(imp)
			own := strings.HasPrefix(imp, module)
			var bad bool
			switch {
			case strings.HasPrefix(imp, "fyne.io/"):
				bad = !under(from, "app/ui") && !under(from, "cmd/hearth")
			case !own:
			case under(from, "crypto"):
				bad = !under(to, "crypto")
			case under(from, "storage"):
				bad = !under(to, "storage")
			case under(from, "p2p"):
				bad = !under(to, "p2p")
			case under(from, "app") && !under(from, "app/ui"):
				bad = under(to, "app/ui") || under(to, "cmd")
			}
			if bad {
				t.Errorf("%s imports %s, against the layout", from, imp)
			}
		}
	}
}

// TestPackageDocs: every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package documentation", p.ImportPath)
		}
	}
}
