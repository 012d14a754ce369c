package simulator

import (
	"hash/fnv"
	"math"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// The traffic model: every number has a peak hourly call rate, a mean call
// length, a transfer share and a mean transfer length drawn from the seed.
// Each clock hour (a slot of the Unix time line) gets a call count from the
// peak rate shaped by the local hour and weekday; each call gets a second
// within the slot, a length and maybe a transfer, all from a hash of
// (seed, login, phone, slot, call). Nothing is stored, so any bucket can be
// computed at any time and the answer never changes, and a bucket counts
// exactly the calls whose instant lies in [its start, min(its end, now)).

// dayShape is the share of the peak rate per local hour: quiet nights, a
// morning ramp, a lunch dip and an evening tail.
var dayShape = [24]float64{
	0.04, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.35, 0.70, 0.95, 1.00, 0.95,
	0.80, 0.85, 0.95, 0.90, 0.80, 0.60, 0.40, 0.30, 0.20, 0.14, 0.09, 0.06,
}

// weekShape scales each local weekday (Sunday first): busy Mondays, quiet weekends.
var weekShape = [7]float64{0.30, 1.10, 1.00, 1.00, 0.95, 0.90, 0.45}

// number is the traffic model of one phone number of one account.
type number struct {
	key       uint64
	peak      float64 // calls per hour at the busiest hour of an average weekday
	meanLen   float64 // seconds
	share     float64 // chance that a call is transferred, 0.05 to 0.25
	meanXfer  float64 // seconds of the transferred leg
	loc       *time.Location
	hourShape [7][24]float64 // peak × weekday × hour, precomputed
}

func newNumber(seed int64, login, phone string, loc *time.Location) *number {
	h := fnv.New64a()
	h.Write([]byte(login))
	h.Write([]byte{0})
	h.Write([]byte(phone))
	key := mix(h.Sum64() ^ uint64(seed)*0x9e3779b97f4a7c15)
	n := &number{
		key:      key,
		meanLen:  90 + 210*unit(mix(key+2)),
		share:    0.05 + 0.20*unit(mix(key+3)),
		meanXfer: 60 + 240*unit(mix(key+4)),
		loc:      loc,
	}
	n.setPeak(4 + 26*unit(mix(key+1)))
	return n
}

// meanDay is a day's calls at a peak rate of one call an hour, averaged over a week.
var meanDay = func() float64 {
	day, week := 0.0, 0.0
	for _, v := range dayShape {
		day += v
	}
	for _, v := range weekShape {
		week += v
	}
	return day * week / 7
}()

// setPeak sets n's peak hourly rate and its hourly shape.
func (n *number) setPeak(peak float64) {
	n.peak = peak
	for wd := range n.hourShape {
		for hr := range n.hourShape[wd] {
			n.hourShape[wd][hr] = peak * weekShape[wd] * dayShape[hr]
		}
	}
}

// tally is raw traffic before rounding.
type tally struct {
	calls, transfers  int64
	callSec, transSec int64
}

func (t *tally) add(u tally) {
	t.calls += u.calls
	t.transfers += u.transfers
	t.callSec += u.callSec
	t.transSec += u.transSec
}

// traffic adds up the calls of n that begin in [from, to).
func (n *number) traffic(from, to time.Time) tally {
	var t tally
	fs, ts := from.Unix(), to.Unix()
	if fs >= ts {
		return t
	}
	for slot := floorDiv(fs, 3600); slot*3600 < ts; slot++ {
		start := slot * 3600
		lt := time.Unix(start, 0).In(n.loc)
		lambda := n.hourShape[lt.Weekday()][lt.Hour()]
		hs := mix(n.key ^ uint64(slot)*0xbf58476d1ce4e5b9)
		count := int(lambda*(0.75+0.5*unit(hs)) + unit(mix(hs+1)))
		whole := start >= fs && start+3600 <= ts
		for i := range count {
			c := mix(hs + uint64(i+2)*0x94d049bb133111eb)
			if !whole {
				at := start + int64(c%3600)
				if at < fs || at >= ts {
					continue
				}
			}
			// Exponential call lengths, clipped to something a phone system allows.
			length := int64(math.Max(10, math.Min(3600, -n.meanLen*math.Log(1-unit(mix(c+1))))))
			t.calls++
			t.callSec += length
			if unit(mix(c+2)) < n.share {
				t.transfers++
				t.transSec += int64(math.Max(5, math.Min(3600, -n.meanXfer*math.Log(1-unit(mix(c+3))))))
			}
		}
	}
	return t
}

// bucket turns a tally into the figures the API sends, rounded as
// VoiceTrends shows them. With no calls the ratios are left out, as the
// API does for a division by zero.
func (t tally) bucket(start time.Time) voicetrends.Bucket {
	b := voicetrends.Bucket{Start: start}
	minutes := round1(float64(t.callSec) / 60)
	b.Set(voicetrends.Calls, float64(t.calls))
	b.Set(voicetrends.CallMinutes, minutes)
	b.Set(voicetrends.Transfers, float64(t.transfers))
	b.Set(voicetrends.TransferMinutes, round1(float64(t.transSec)/60))
	if t.calls > 0 {
		b.Set(voicetrends.TransferRate, round1(100*float64(t.transfers)/float64(t.calls)))
		b.Set(voicetrends.AverageCallLength, round1(minutes*60/float64(t.calls)))
	}
	return b
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// mix is SplitMix64's finaliser: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }
