package voicetrends

import "fmt"

// Period is how the API groups call volume into buckets.
type Period string

// The periods the API knows.
const (
	PeriodDay   Period = "day"
	PeriodWeek  Period = "week"
	PeriodMonth Period = "month"
)

// Periods lists every period in the order the exporter and docs use.
var Periods = []Period{PeriodDay, PeriodWeek, PeriodMonth}

// ParsePeriod checks s against the periods the API accepts.
func ParsePeriod(s string) (Period, error) {
	switch p := Period(s); p {
	case PeriodDay, PeriodWeek, PeriodMonth:
		return p, nil
	}
	return "", fmt.Errorf("unknown period %q: use day, week or month", s)
}

// Next returns the first day of the period after the one starting on
// first. A week is seven days whatever day it starts on.
func (p Period) Next(first Date) Date {
	switch p {
	case PeriodWeek:
		return first.AddDays(7)
	case PeriodMonth:
		return first.AddMonths(1)
	}
	return first.AddDays(1)
}

// Tool is the Plum product whose credentials authenticate an account.
type Tool string

// The tools the auth resource accepts.
const (
	ToolDev      Tool = "dev"
	ToolInsight  Tool = "insight"
	ToolFusePlus Tool = "fuseplus"
)

// ParseTool checks s against the tools the auth resource accepts.
func ParseTool(s string) (Tool, error) {
	switch t := Tool(s); t {
	case ToolDev, ToolInsight, ToolFusePlus:
		return t, nil
	}
	return "", fmt.Errorf("unknown tool %q: use dev, insight or fuseplus", s)
}
