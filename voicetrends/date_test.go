package voicetrends

import (
	"testing"
	"time"
)

func TestDateCompare(t *testing.T) {
	d := Date{2024, time.March, 10}
	tests := []struct {
		e    Date
		want int
	}{
		{Date{2024, time.March, 10}, 0},
		{Date{2024, time.March, 11}, -1},
		{Date{2024, time.March, 9}, 1},
		{Date{2024, time.April, 1}, -1},
		{Date{2023, time.December, 31}, 1},
	}
	for _, tt := range tests {
		if got := d.Compare(tt.e); got != tt.want {
			t.Errorf("%s.Compare(%s) = %d, want %d", d, tt.e, got, tt.want)
		}
		if d.Before(tt.e) != (tt.want < 0) || d.After(tt.e) != (tt.want > 0) {
			t.Errorf("%s Before/After %s disagree with %d", d, tt.e, tt.want)
		}
	}
}

func TestDateValid(t *testing.T) {
	tests := []struct {
		d    Date
		want bool
	}{
		{Date{2024, time.February, 29}, true},
		{Date{2023, time.February, 29}, false},
		{Date{2024, time.April, 31}, false},
		{Date{2024, 13, 1}, false},
		{Date{2024, time.January, 0}, false},
		{Date{}, false},
		{Date{10000, time.January, 1}, false},
		{Date{1, time.January, 1}, true},
	}
	for _, tt := range tests {
		if got := tt.d.Valid(); got != tt.want {
			t.Errorf("%+v.Valid() = %v, want %v", tt.d, got, tt.want)
		}
		if tt.want {
			if back, err := ParseDate(tt.d.String()); err != nil || back != tt.d {
				t.Errorf("ParseDate(%q) = %v, %v", tt.d.String(), back, err)
			}
		}
	}
}

func TestDateMidnight(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		d    Date
		want string // UTC
	}{
		{Date{2018, time.February, 1}, "2018-02-01T05:00:00Z"}, // the documented sample key 1517461200
		{Date{2024, time.March, 10}, "2024-03-10T05:00:00Z"},
		{Date{2024, time.March, 11}, "2024-03-11T04:00:00Z"},
	}
	for _, tt := range tests {
		if got := tt.d.Midnight(ny).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("%s midnight = %s, want %s", tt.d, got, tt.want)
		}
	}
	if got := (Date{2018, time.February, 1}).Midnight(ny).Unix(); got != 1517461200 {
		t.Errorf("midnight unix %d", got)
	}
}

func TestAlignedWindow(t *testing.T) {
	tests := []struct {
		t          time.Time
		d          time.Duration
		start, end string
	}{
		{time.Date(2018, 2, 26, 18, 52, 13, 5, time.UTC), 15 * time.Minute, "2018-02-26T18:45:00Z", "2018-02-26T19:00:00Z"},
		{time.Date(2018, 2, 26, 19, 0, 0, 0, time.UTC), 15 * time.Minute, "2018-02-26T19:00:00Z", "2018-02-26T19:15:00Z"},
		{time.Date(2024, 1, 1, 0, 7, 0, 0, time.FixedZone("IST", 5*3600+1800)), 15 * time.Minute, "2023-12-31T18:30:00Z", "2023-12-31T18:45:00Z"},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Hour, "1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		s, e := AlignedWindow(tt.t, tt.d)
		if s.Format(time.RFC3339) != tt.start || e.Format(time.RFC3339) != tt.end {
			t.Errorf("AlignedWindow(%v, %v) = %v, %v; want %s, %s", tt.t, tt.d, s, e, tt.start, tt.end)
		}
	}
}
