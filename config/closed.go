package config

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Closed is an account's closed key: the whole local days its contact
// centre is closed, so that rules and dashboards expect no calls on them
// (see docs/closures.md).
type Closed struct {
	// Holidays is an ISO 3166-1 country code or a region the holiday
	// library has (DE-BY, AU-NSW, CH-ZH): its public holidays close the
	// centre, observed and substitute days included.
	Holidays string `yaml:"holidays,omitempty"`
	// Dates are more closed days, YYYY-MM-DD.
	Dates []string `yaml:"dates,omitempty"`
	// Open are days worked although holidays or dates close them.
	Open []string `yaml:"open,omitempty"`
}

// UnmarshalYAML reads closed, naming the fix where the shape is wrong
// (the decoder's own words name Go types): closed as one value, holidays
// as a list, a single date without its list.
func (c *Closed) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%q is not a mapping: write e.g. closed: {holidays: US, dates: [2026-12-24]}", n.Value)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Value == "holidays" && v.Kind != yaml.ScalarNode:
			return fmt.Errorf("holidays takes one country or region: write e.g. holidays: US or holidays: DE-BY, and list more days under dates")
		case (k.Value == "dates" || k.Value == "open") && v.Kind != yaml.SequenceNode:
			return fmt.Errorf("%s is a list: write %s: [%s]", k.Value, k.Value, v.Value)
		}
	}
	type plain Closed // without this method
	return n.Decode((*plain)(c))
}

// validateClosed builds the account's closure calendar from closed.
func (a *Account) validateClosed() *fieldError {
	a.Closures = nil
	if a.Closed == nil {
		return nil
	}
	dates, err := closedDates("closed.dates", a.Closed.Dates)
	if err != nil {
		return err
	}
	open, err := closedDates("closed.open", a.Closed.Open)
	if err != nil {
		return err
	}
	c, cerr := closure.New(a.Closed.Holidays, dates, open)
	if cerr != nil {
		return fieldErr("closed.holidays", "%v", cerr)
	}
	a.Closures = c
	return nil
}

// closedDates parses the dates of the list key, each listed once.
func closedDates(key string, list []string) ([]voicetrends.Date, *fieldError) {
	out := make([]voicetrends.Date, 0, len(list))
	if err := checkEach(key, "date", list, func(s string) error {
		d, err := closure.ParseDate(s)
		out = append(out, d)
		return err
	}); err != nil {
		return nil, err
	}
	return out, nil
}
