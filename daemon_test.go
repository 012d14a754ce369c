package main

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// appendFile adds content to the end of the file at path.
func appendFile(t *testing.T, path, content string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(old)+content)
}

// TestServedFamiliesAreTheTable: every family the daemon serves of its own
// (all but go_*, process_* and promhttp_*) is a row of the metric table with
// the table's HELP, every row is served, and the README names each one.
func TestServedFamiliesAreTheTable(t *testing.T) {
	t.Parallel()
	_, _, cfg := supportSetup(t)
	// Closed around today, so that today's closure and the next are served
	// even should a local midnight pass meanwhile.
	ny, _ := time.LoadLocation(support.timezone)
	today := voicetrends.DateIn(testClock(t).Now(), ny)
	var days []string
	for i := -1; i <= 2; i++ {
		days = append(days, closure.FormatDate(today.AddDays(i)))
	}
	appendFile(t, cfg, "    closed:\n      dates: ["+strings.Join(days, ", ")+"]\n")
	d := startDaemon(t, "--config.file="+cfg)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{}
	for _, f := range metric.Served() {
		table[f.Name] = f.Help
		if !strings.Contains(string(readme), "`"+f.Name+"`") {
			t.Errorf("README.md does not name %s", f.Name)
		}
	}
	own := func(m scrape) []string {
		var names []string
		for name := range m.families {
			if !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
				names = append(names, name)
			}
		}
		return names
	}
	// The condition asserted below, waited for (up to waitBound): under load a
	// scrape once served the target's figures without the request and
	// rate-limit families (once in about 40 loaded runs; cause not found). A
	// family never served still fails the count below.
	m := d.waitTried("support", 1)
	for deadline := time.Now().Add(waitBound); len(own(m)) < len(table) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		m = d.metrics()
	}
	served := own(m)
	for _, name := range served {
		fam := m.families[name]
		help, ok := table[name]
		switch {
		case !ok:
			t.Errorf("the daemon serves %s, which the metric table lacks", name)
		case fam.GetHelp() != help:
			t.Errorf("%s: HELP %q, the table says %q", name, fam.GetHelp(), help)
		}
	}
	// The figures of a target need a success; the rate-limit and request
	// families need a response: with one good refresh, all are there.
	if len(served) != len(table) {
		sort.Strings(served)
		t.Errorf("the daemon serves %d families of its own, the table has %d: %v", len(served), len(table), served)
	}
}
