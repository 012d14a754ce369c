package voicetrends

import (
	"bytes"
	"math"
	"testing"
)

// FuzzDecodeVolume checks that no body makes the decoder panic, and that
// what it accepts is sane: sorted, distinct, finite buckets.
func FuzzDecodeVolume(f *testing.F) {
	for _, seed := range []string{
		`{"calls":{"1517461200":0,"1517547600":3},"call_minutes":{"1517461200":0,"1517547600":7.5},"transfers":{"1517461200":0,"1517547600":1},"transfer_minutes":{"1517461200":0,"1517547600":1.2},"transfer_rate":{"1517547600":33.3},"average_call_length":{"1517547600":150}}`,
		`{"calls":{"1717560000":"139","1717646400":"136"},"call_minutes":{"1717560000":"360.5","1717646400":"316"},"transfers":[],"transfer_minutes":[],"transfer_rate":{"1717560000":"16.5"},"average_call_length":{"1717560000":"155.6"}}`,
		`{"calls":[],"call_minutes":[],"transfers":[],"transfer_minutes":[],"transfer_rate":[],"average_call_length":[]}`,
		`{"calls":{},"call_minutes":null}`,
		`[]`,
		`{"error":"rate limit exceeded"}`,
		`{"calls":{"yesterday":5}}`,
		`{"calls":{"1517461200":"many"}}`,
		`{"calls":{"1517461200":"NaN"},"transfer_rate":{"1517461200":1e999}}`,
		`<html><body>502</body></html>`,
		`{"calls":{"1517461200":3`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		buckets, err := DecodeVolume(bytes.NewReader(body))
		if err != nil {
			if buckets != nil {
				t.Fatalf("buckets alongside error %v", err)
			}
			return
		}
		for i, b := range buckets {
			if i > 0 && !buckets[i-1].Start.Before(b.Start) {
				t.Fatalf("bucket %d at %v not after %v", i, b.Start, buckets[i-1].Start)
			}
			for _, f := range Figures {
				v, _ := b.Get(f)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("bucket %v: %s = %v", b.Start, f.Key(), v)
				}
			}
		}
	})
}
