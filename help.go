package main

import (
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// usageTemplate is kingpin's default help with one addition: the top-level
// --help also lists the flags of the default command, serve, since that is
// what `voicetrends_exporter` runs and where --demo and --web.* live.
var usageTemplate = strings.Replace(kingpin.DefaultUsageTemplate,
	"{{else if .App.Commands -}}\nCommands:\n",
	"{{else if .App.Commands -}}\n"+
		"{{range .App.Commands}}{{if and .Default .Flags}}Flags of {{.Name}}, the default command:\n"+
		"{{.Flags|FlagsToTwoColumns|FormatTwoColumns}}\n{{end}}{{end -}}\n"+
		"Commands:\n", 1)
