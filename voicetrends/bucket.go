package voicetrends

import "time"

// Figure names one of the six series of the Call Volume resource.
type Figure int

// The six figures, in the order the API documents them.
const (
	Calls             Figure = iota // call count
	CallMinutes                     // call minutes
	Transfers                       // transfer count
	TransferMinutes                 // transfer minutes
	TransferRate                    // percent 0-100, transfers divided by calls
	AverageCallLength               // seconds, call time divided by calls
	NumFigures                      // the number of figures; not a figure
)

// Figures lists every figure, for loops.
var Figures = []Figure{Calls, CallMinutes, Transfers, TransferMinutes, TransferRate, AverageCallLength}

var figureKeys = [NumFigures]string{"calls", "call_minutes", "transfers", "transfer_minutes", "transfer_rate", "average_call_length"}

// Key is the figure's field name in the API's JSON body.
func (f Figure) Key() string { return figureKeys[f] }

// Bucket is one period's figures, starting at Start (local midnight in the
// account's time zone). A figure the API did not send is absent, not zero.
type Bucket struct {
	Start   time.Time
	values  [NumFigures]float64
	present [NumFigures]bool
}

// Get returns the figure's value and whether the API sent it.
func (b *Bucket) Get(f Figure) (float64, bool) { return b.values[f], b.present[f] }

// Set records a figure's value.
func (b *Bucket) Set(f Figure, v float64) { b.values[f], b.present[f] = v, true }

// VolumeRequest selects the buckets of one phone (or AllPhones) and period
// whose start dates lie between Start and End inclusive.
type VolumeRequest struct {
	Start, End Date
	Period     Period
	Phone      string
}

// VolumeResponse is a successful Call Volume answer.
type VolumeResponse struct {
	Buckets   []Bucket  // sorted by Start
	RateLimit RateLimit // the data group's headers on this response
}

// RateLimit is what the X-RateLimit-* headers of one response said.
// A header that was absent is unknown, never zero.
type RateLimit struct {
	Limit     int       // X-RateLimit-Limit; -1 when absent
	Remaining int       // X-RateLimit-Remaining; -1 when absent
	Reset     time.Time // X-RateLimit-Reset; zero when absent
}

// Known reports whether any of the three headers was present.
func (r RateLimit) Known() bool { return r.Limit >= 0 || r.Remaining >= 0 || !r.Reset.IsZero() }
