package voicetrends

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fig is one expected figure of a bucket.
type fig struct {
	f Figure
	v float64
}

func TestDecodeVolume(t *testing.T) {
	const feb1, feb2 = 1517461200, 1517547600 // local midnights in US Eastern time
	tests := []struct {
		name    string
		body    string
		want    map[int64][]fig // expected figures by start; every other figure absent
		wantErr string
	}{
		{
			name: "documented shape",
			body: `{"calls":{"1517461200":0,"1517547600":3},"call_minutes":{"1517461200":0,"1517547600":7.5},
				"transfers":{"1517461200":0,"1517547600":1},"transfer_minutes":{"1517461200":0,"1517547600":1.2},
				"transfer_rate":{"1517547600":33.3},"average_call_length":{"1517547600":150}}`,
			want: map[int64][]fig{
				feb1: {{Calls, 0}, {CallMinutes, 0}, {Transfers, 0}, {TransferMinutes, 0}},
				feb2: {{Calls, 3}, {CallMinutes, 7.5}, {Transfers, 1}, {TransferMinutes, 1.2}, {TransferRate, 33.3}, {AverageCallLength, 150}},
			},
		},
		{
			name: "PHP quirks: empty arrays, numeric strings, null, unknown fields",
			body: `{"calls":{"1517547600":"3","1517461200":" 12 "},"call_minutes":[],"transfers":null,"transfer_minutes":{},
				"transfer_rate":{"1517547600":"33.3"},"average_call_length":{"1517547600":null},"unique_callers":{"x":"y"},"meta":[1,2]}`,
			want: map[int64][]fig{
				feb1: {{Calls, 12}},
				feb2: {{Calls, 3}, {TransferRate, 33.3}},
			},
		},
		{name: "everything empty", body: `{"calls":[],"call_minutes":[ ],"transfers":{},"transfer_minutes":null}`, want: map[int64][]fig{}},
		{name: "whole body an empty PHP array", body: " [] \n", want: map[int64][]fig{}},
		{name: "no fields at all", body: `{}`, want: map[int64][]fig{}},
		{name: "exponent and negative zero", body: `{"calls":{"1517461200":1e2},"call_minutes":{"1517461200":-0}}`,
			want: map[int64][]fig{feb1: {{Calls, 100}, {CallMinutes, 0}}}},
		{name: "key not a timestamp", body: `{"calls":{"2018-02-01":3}}`, wantErr: `field "calls" key "2018-02-01": not a Unix timestamp`},
		{name: "negative key", body: `{"transfers":{"-5":3}}`, wantErr: `field "transfers" key "-5"`},
		{name: "key beyond year 9999", body: `{"calls":{"253402300800":3}}`, wantErr: `key "253402300800"`},
		{name: "value not a number", body: `{"call_minutes":{"1517461200":"many"}}`, wantErr: `field "call_minutes" key "1517461200": value "many" is not a finite number`},
		{name: "boolean value", body: `{"calls":{"1517461200":true}}`, wantErr: `key "1517461200": value true`},
		{name: "NaN string", body: `{"transfer_rate":{"1517461200":"NaN"}}`, wantErr: `field "transfer_rate" key "1517461200"`},
		{name: "Inf string", body: `{"transfer_rate":{"1517461200":"+Inf"}}`, wantErr: "not a finite number"},
		{name: "overflowing number", body: `{"calls":{"1517461200":1e400}}`, wantErr: "not a finite number"},
		{name: "hex string", body: `{"calls":{"1517461200":"0x10"}}`, wantErr: "not a finite number"},
		{name: "quoted null", body: `{"calls":{"1517461200":"null"}}`, wantErr: "not a finite number"},
		{name: "empty string", body: `{"calls":{"1517461200":""}}`, wantErr: "not a finite number"},
		{name: "nested object", body: `{"calls":{"1517461200":{"v":1}}}`, wantErr: "not a finite number"},
		{name: "series a list", body: `{"calls":[1,2,3]}`, wantErr: `field "calls": want an object keyed by Unix timestamps`},
		{name: "series a string", body: `{"calls":"none"}`, wantErr: `field "calls": want an object`},
		{name: "body a list", body: `[1]`, wantErr: "not a JSON object"},
		{name: "body empty", body: ``, wantErr: "empty"},
		{name: "body truncated", body: `{"calls":{"1517461200":3`, wantErr: "not valid JSON"},
		{name: "error in a 200", body: `{"error":"database unavailable"}`, wantErr: "database unavailable"},
		{name: "HTML page", body: `<html><body>Bad Gateway</body></html>`, wantErr: "not a JSON object: starts Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeVolume(strings.NewReader(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d buckets, want %d", len(got), len(tt.want))
			}
			for i, b := range got {
				if i > 0 && !got[i-1].Start.Before(b.Start) {
					t.Fatalf("buckets not sorted: %v then %v", got[i-1].Start, b.Start)
				}
				if b.Start.Location() != time.UTC {
					t.Errorf("start %v not in UTC", b.Start)
				}
				figs, ok := tt.want[b.Start.Unix()]
				if !ok {
					t.Fatalf("unexpected bucket %v", b.Start)
				}
				var want Bucket
				for _, f := range figs {
					want.Set(f.f, f.v)
				}
				for _, f := range Figures {
					gv, gok := b.Get(f)
					wv, wok := want.Get(f)
					if gv != wv || gok != wok {
						t.Errorf("bucket %d %s = %v (present %v), want %v (present %v)", b.Start.Unix(), f.Key(), gv, gok, wv, wok)
					}
				}
			}
		})
	}
}

func TestDecodeVolumeSizeCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"calls":{`)
	for i := 0; b.Len() <= MaxBodyBytes; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"1517461200":1`)
	}
	b.WriteString(`}}`)
	if _, err := DecodeVolume(strings.NewReader(b.String())); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("error %v, want a size error", err)
	}
	if _, err := DecodeVolume(iotest.ErrReader(errors.New("connection reset"))); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("error %v, want the read error", err)
	}
}
