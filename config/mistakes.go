package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file turns the mistakes people make in a configuration file into
// errors that name the fix, where the YAML decoder's own words would not.

// unknownKey finds the first key of the document that no field of Config
// takes, walking the YAML against the Go types, and names the closest
// known key. It returns "" when every key is known.
func unknownKey(root *yaml.Node) string {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return ""
	}
	return walkKeys(root.Content[0], reflect.TypeOf(Config{}), "")
}

func walkKeys(n *yaml.Node, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields, open := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				if open {
					continue
				}
				where := ""
				if path != "" {
					where = path + ": "
				}
				msg := fmt.Sprintf("%d: %sunknown key %q", k.Line, where, k.Value)
				if s := closest(k.Value, fields); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				return msg
			}
			if msg := walkKeys(v, ft, join(path, k.Value)); msg != "" {
				return msg
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			if msg := walkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of struct t to their types, following
// inline structs; open is set when an inline map takes any key.
func yamlFields(t reflect.Type) (fields map[string]reflect.Type, open bool) {
	fields = map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				open = true
				continue
			}
			inner, innerOpen := yamlFields(ft)
			for k, v := range inner {
				fields[k] = v
			}
			open = open || innerOpen
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields, open
}

// closest returns the known key nearest to key, if it is near enough to be
// a typo of it.
func closest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", len(key)/2+1
	for k := range fields {
		if d := editDistance(key, k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if bestD > 3 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// tabAt returns the line and column of the first tab that YAML refuses: one
// in the indentation, before or after a sequence's "-". The parser reports
// such a tab as "found character that cannot start any token", or on the
// line before, or with no line at all.
func tabAt(content []byte) (line, col int) {
	for i, text := range strings.Split(string(content), "\n") {
		indent := text[:len(text)-len(strings.TrimLeft(text, " \t-"))]
		if c := strings.IndexByte(indent, '\t'); c >= 0 {
			return i + 1, c + 1
		}
	}
	return 0, 0
}

var bareNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// legacyZones are the zone names of the tz database kept for old systems:
// abbreviations and POSIX-style rules whose daylight saving is not the
// place's (EST has none at all), with the zone people mean.
var legacyZones = map[string]string{
	"EST": "America/New_York", "EST5EDT": "America/New_York",
	"CST6CDT": "America/Chicago",
	"MST":     "America/Denver (or America/Phoenix, which keeps no daylight saving)", "MST7MDT": "America/Denver",
	"PST8PDT": "America/Los_Angeles",
	"HST":     "Pacific/Honolulu",
	"CET":     "Europe/Paris", "MET": "Europe/Paris", "EET": "Europe/Athens", "WET": "Europe/Lisbon",
}

// indentationErrors are the parser's words for a line indented to a column
// that no block above it opened; it names the line where it gave up, often
// the first.
var indentationErrors = []string{
	"did not find expected '-' indicator",
	"did not find expected key",
	"mapping values are not allowed in this context",
	"block sequence entries are not allowed in this context",
}

// maxIndentationLines bounds the search for a wrongly indented line, which
// parses the file again for every line and column it tries.
const maxIndentationLines = 1000

// misindented finds the one line whose indentation the parser refused, by
// moving each line in turn to a column used above it until the whole file
// parses, and names its line, its key and the column to use. It returns ""
// when err is no indentation error or no single line explains it.
func misindented(content []byte, err error) string {
	if !slices.ContainsFunc(indentationErrors, func(s string) bool { return strings.Contains(err.Error(), s) }) {
		return ""
	}
	lines := strings.Split(string(content), "\n")
	if len(lines) > maxIndentationLines {
		return ""
	}
	var columns []int   // the columns the lines above start a key or an item at
	prev := math.MinInt // the previous line's indentation, negative for an item
	for j, text := range lines {
		body := strings.TrimLeft(text, " ")
		if body == "" || strings.HasPrefix(body, "#") {
			continue
		}
		indent := len(text) - len(body)
		// A key below a key, or an item below an item, at the same column
		// is where the line above was: only a line whose indentation
		// changes can be the mistake. Skipping the others keeps a long
		// list of numbers cheap.
		start := indent
		if strings.HasPrefix(body, "-") {
			start = -1 - indent
		}
		if start != prev {
			prev = start
			if fix, root, ok := reindent(lines, j, indent, columns); ok {
				return describeIndent(lines, j, indent, fix, root)
			}
		}
		columns = append(columns, indent)
		if item := strings.TrimLeft(strings.TrimPrefix(body, "-"), " "); len(item) < len(body) && strings.HasPrefix(body, "- ") {
			columns = append(columns, len(text)-len(item))
		}
	}
	return ""
}

// reindent tries line j at each column of columns, nearest to its own
// first, and returns the first column at which the file parses, preferring
// one that also puts every key where a key of that name belongs.
func reindent(lines []string, j, indent int, columns []int) (fix int, root *yaml.Node, ok bool) {
	tried := map[int]bool{indent: true}
	var cands []int
	for _, c := range columns {
		if !tried[c] {
			tried[c] = true
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b int) int {
		if d := abs(a-indent) - abs(b-indent); d != 0 {
			return d
		}
		return b - a // the deeper of two as near
	})
	text := strings.TrimLeft(lines[j], " ")
	fix = -1
	for _, c := range cands {
		moved := slices.Clone(lines)
		moved[j] = strings.Repeat(" ", c) + text
		var n yaml.Node
		if yaml.Unmarshal([]byte(strings.Join(moved, "\n")), &n) != nil || !keepsLines(&n, moved) {
			continue
		}
		if unknownKey(&n) == "" {
			return c, &n, true
		}
		if fix < 0 {
			fix, root = c, &n
		}
	}
	return fix, root, fix >= 0
}

func abs(n int) int { return max(n, -n) }

// keyOrItem is a line that starts a key or a list item.
var keyOrItem = regexp.MustCompile(`^ *(- |-$|[A-Za-z_][A-Za-z0-9_]*:( |$))`)

// keepsLines reports whether every line that starts a key or an item does
// so in the document root parsed from lines: a column that only makes a
// line the continuation of the value above is no fix.
func keepsLines(root *yaml.Node, lines []string) bool {
	starts := map[int]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		starts[n.Line] = true
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	for i, text := range lines {
		if keyOrItem.MatchString(text) && !starts[i+1] {
			return false
		}
	}
	return true
}

func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}

// describeIndent says which key line j holds, how it is indented, and the
// column to move it to, naming a line above at that column.
func describeIndent(lines []string, j, indent, fix int, root *yaml.Node) string {
	msg := fmt.Sprintf("%d: ", j+1)
	if path := pathAt(root, j+1); path != "" {
		msg += path + ": "
	}
	msg += fmt.Sprintf("indented %s: indent it %s", spaces(indent), spaces(fix))
	for i := j - 1; i >= 0; i-- {
		body := strings.TrimLeft(lines[i], " ")
		if body == "" || strings.HasPrefix(body, "#") {
			continue
		}
		col := len(lines[i]) - len(body)
		if col != fix {
			if item := strings.TrimLeft(strings.TrimPrefix(body, "- "), " "); strings.HasPrefix(body, "- ") && len(lines[i])-len(item) == fix {
				body = item
			} else {
				continue
			}
		}
		if key, _, found := strings.Cut(body, ":"); found && !strings.HasPrefix(body, "-") {
			msg += fmt.Sprintf(", as %s on line %d", key, i+1)
		} else {
			msg += fmt.Sprintf(", as line %d", i+1)
		}
		break
	}
	return msg + " (YAML nests keys by their indentation)"
}

// pathAt returns the path (accounts[0].login) of the key or list item that
// starts on line, or "".
func pathAt(root *yaml.Node, line int) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Line == line {
					return join(path, k.Value)
				}
				if p := walk(v, join(path, k.Value)); p != "" {
					return p
				}
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if sub := walk(item, p); sub != "" {
					return sub
				}
				if item.Line == line {
					return p
				}
			}
		}
		return ""
	}
	return walk(root, "")
}
