package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/voicetrends/voicetrends_exporter"

// sourceFiles parses every non-test Go file of the module (the packaging
// module aside), by its folder.
func sourceFiles(t *testing.T) (*token.FileSet, map[string][]*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string][]*ast.File{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || path == "packaging") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files[filepath.Dir(path)] = append(files[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fset, files
}

// TestLayout holds the tree to the shape docs/development.md describes: the
// API client knows nothing of Prometheus metrics, the backfill shares the
// internal leaves with the collector but not the collector itself, and no
// function is long enough or takes enough parameters to hide what it does.
func TestLayout(t *testing.T) {
	t.Parallel()
	fset, files := sourceFiles(t)
	forbidden := []struct{ dir, prefix, why string }{
		{"voicetrends", "github.com/prometheus/client_golang", "the API client knows nothing of metrics"},
		{"backfill", module + "/collector", "the backfill shares internal/, not the collector"},
		{"internal", module + "/collector", "the shared leaves depend on nothing above them"},
		{"config", module + "/collector", "the configuration depends on nothing above it"},
	}
	for dir, fs := range files {
		for _, f := range fs {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, rule := range forbidden {
					if (dir == rule.dir || strings.HasPrefix(dir, rule.dir+string(filepath.Separator))) && strings.HasPrefix(path, rule.prefix) {
						t.Errorf("%s imports %s: %s", fset.Position(imp.Pos()).Filename, path, rule.why)
					}
				}
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
				params := 0
				for _, p := range fn.Type.Params.List {
					params += max(1, len(p.Names))
				}
				if lines > 80 || params > 5 {
					t.Errorf("%s: %s has %d lines and %d parameters; split it (at most 80 and 5)", fset.Position(fn.Pos()), fn.Name.Name, lines, params)
				}
			}
		}
	}
}
