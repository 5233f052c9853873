package memberlist

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestNoSelfImport guards the serf suite (scripts/peer-serf.sh), which
// replaces github.com/hashicorp/memberlist with this directory: a file of
// the package, tests included, that imports the package by its own path
// cannot be resolved there.
func TestNoSelfImport(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fs := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fs, e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/gossip-go/memberlist") {
				t.Errorf("%s imports %s", e.Name(), path)
			}
		}
	}
}
