package config

import (
	"fmt"
	"reflect"
	"regexp"
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
