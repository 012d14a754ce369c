package voicetrends

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestSnippet(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>", 40, "502 Bad Gateway nginx"},
		{"plain\x00text\twith\x1bcontrols", 40, "plain text with controls"},
		{"abcdefghij", 4, "abcd…"},
		{"bad \xff utf8", 20, "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := snippet([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("snippet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		"login with hunter2-pw refused":                                                           "login with <secret> refused",
		`Get "https://jdoe:hunter2-pw@example.com/api/"`:                                          `Get "https://jdoe:<secret>@example.com/api/"`,
		`Get "https://jdoe:other@example.com/api/": EOF`:                                          `Get "https://jdoe:<secret>@example.com/api/": EOF`,
		"proxy echoed Authorization: Basic amRvZTpodW50ZXI=":                                      "proxy echoed Authorization: Basic <secret>",
		"echo: Authorization: Basic ZGVtbzpzZWNyZXQ= user=57b264aa pw=s3cret! bearer abc.def-ghi": "echo: Authorization: Basic <secret> user=<secret> pw=<secret> bearer <secret>",
		"pw is ab, too short to be taken for a secret":                                            "pw is ab, too short to be taken for a secret",
	} {
		if got := Scrub(in, "hunter2-pw", "57b264aa", "s3cret!", "ab"); got != want {
			t.Errorf("Scrub(%q)\n got: %q\nwant: %q", in, got, want)
		}
	}
}

func TestAPIErrorHelpers(t *testing.T) {
	reset := time.Date(2018, 2, 26, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		code                          int
		unauthorized, bad, server, rl bool
		text                          string
	}{
		{http.StatusUnauthorized, true, false, false, false, "volume: HTTP 401 Unauthorized: boom"},
		{http.StatusBadRequest, false, true, false, false, "volume: HTTP 400 Bad Request: boom"},
		{http.StatusInternalServerError, false, false, true, false, "volume: HTTP 500 Internal Server Error: boom"},
		{http.StatusBadGateway, false, false, true, false, "volume: HTTP 502 Bad Gateway: boom"},
		{http.StatusTooManyRequests, false, false, false, true, "volume: HTTP 429 Too Many Requests: boom; limit resets at 2018-02-26T19:00:00Z"},
	}
	for _, tt := range tests {
		e := &APIError{Endpoint: EndpointVolume, StatusCode: tt.code, Message: "boom", RateLimit: RateLimit{Limit: 150, Remaining: 0, Reset: reset}}
		err := fmt.Errorf("voicetrends: volume x: %w", e)
		r, rl := IsRateLimited(err)
		if IsUnauthorized(err) != tt.unauthorized || IsBadRequest(err) != tt.bad || isServerError(err) != tt.server || rl != tt.rl {
			t.Errorf("%d: helpers disagree", tt.code)
		}
		if rl && !r.Equal(reset) {
			t.Errorf("%d: reset %v", tt.code, r)
		}
		if e.Error() != tt.text {
			t.Errorf("%d: Error() = %q, want %q", tt.code, e.Error(), tt.text)
		}
	}
	if _, ok := IsRateLimited(fmt.Errorf("plain")); ok || isServerError(nil) {
		t.Error("helpers match a non-API error")
	}
	d := &LoginDeferredError{Until: reset, Reason: "backing off", Last: &APIError{Endpoint: EndpointAuth, StatusCode: 401, Message: "invalid credentials"}}
	if until, ok := NextLogin(fmt.Errorf("wrapped: %w", d)); !ok || !until.Equal(reset) || !IsUnauthorized(d) {
		t.Errorf("NextLogin = %v, %v", until, ok)
	}
	if want := "login deferred until 2018-02-26T19:00:00Z: backing off; last login error: auth: HTTP 401 Unauthorized: invalid credentials (check tool as well as login and password: one of dev | insight | fuseplus, the Plum tool the account belongs to)"; d.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", d.Error(), want)
	}
}

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		want   RateLimit
	}{
		{"documented", map[string]string{"X-RateLimit-Limit": "150", "X-RateLimit-Remaining": "149", "X-RateLimit-Reset": "1519671600"},
			RateLimit{150, 149, time.Unix(1519671600, 0).UTC()}},
		{"absent", nil, RateLimit{-1, -1, time.Time{}}},
		{"zero remaining is known", map[string]string{"X-RateLimit-Remaining": "0"}, RateLimit{-1, 0, time.Time{}}},
		{"garbage", map[string]string{"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "-3", "X-RateLimit-Reset": "soon"}, RateLimit{-1, -1, time.Time{}}},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		got := ParseRateLimit(h)
		if got.Limit != tt.want.Limit || got.Remaining != tt.want.Remaining || !got.Reset.Equal(tt.want.Reset) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		if got.Known() != (tt.name != "absent" && tt.name != "garbage") {
			t.Errorf("%s: Known() = %v", tt.name, got.Known())
		}
	}
}

func TestIsAccountProblem(t *testing.T) {
	volume := func(code int) error {
		return fmt.Errorf("voicetrends: volume x: %w", &APIError{Endpoint: EndpointVolume, StatusCode: code})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"wrong phone", volume(400), false},
		{"rate limited", volume(429), false},
		{"refused credentials", volume(401), true},
		{"server error", volume(500), true},
		{"proxy error", volume(502), true},
		{"login refused", &APIError{Endpoint: EndpointAuth, StatusCode: 401}, true},
		{"login rate limited", &APIError{Endpoint: EndpointAuth, StatusCode: 429}, true},
		{"login deferred", fmt.Errorf("x: %w", &LoginDeferredError{Until: time.Now()}), true},
		{"login paced", fmt.Errorf("x: after 401: %w", &LoginDeferredError{Until: time.Now(), Paced: true}), false},
		{"no response", fmt.Errorf("x: %w", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("connection refused")}), true},
		{"cut short", fmt.Errorf("reading volume body: %w", io.ErrUnexpectedEOF), true},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"malformed body", errors.New("volume: field \"calls\": not a number"), false},
		{"invalid request", errors.New("invalid start date"), false},
	}
	for _, tt := range tests {
		if got := IsAccountProblem(tt.err); got != tt.want {
			t.Errorf("%s: IsAccountProblem(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// isServerError reports whether err carries a 5xx answer.
func isServerError(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode >= 500 && e.StatusCode <= 599
}
