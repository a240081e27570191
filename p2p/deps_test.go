package p2p

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLeafImports: p2p is a leaf. Outside its tests it imports no other
// Hearth package (its own syncpb aside), and no Fyne; every package of it
// has a doc.go.
func TestLeafImports(t *testing.T) {
	const module = "github.com/hearth-circles/hearth/"
	allowed := map[string]bool{module + "p2p/syncpb": true}
	dirs := []string{".", "syncpb"}
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
			t.Errorf("%s: no doc.go", dir)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if (strings.HasPrefix(path, module) && !allowed[path]) || strings.HasPrefix(path, "fyne.io/") {
					t.Errorf("%s imports %s", file, path)
				}
			}
		}
	}
}
