package voicetrends

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIError is a non-200 answer from the API.
type APIError struct {
	Endpoint   string    // EndpointAuth or EndpointVolume
	StatusCode int       // the HTTP status
	Message    string    // the body's "error" text, or a short sanitised snippet of a non-JSON body
	RateLimit  RateLimit // the response's X-RateLimit-* headers
}

// Error describes the failure without any secret: the message has been
// sanitised before it was stored.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Endpoint, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.StatusCode == http.StatusTooManyRequests && !e.RateLimit.Reset.IsZero() {
		b.WriteString("; limit resets at " + e.RateLimit.Reset.UTC().Format(time.RFC3339))
	}
	return b.String()
}

func statusIs(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == code
}

// IsUnauthorized reports whether err carries a 401: invalid or expired
// credentials, or an inactive account.
func IsUnauthorized(err error) bool { return statusIs(err, http.StatusUnauthorized) }

// IsBadRequest reports whether err carries a 400: the API refused the
// request's input (dates, period, a phone the account does not own).
func IsBadRequest(err error) bool { return statusIs(err, http.StatusBadRequest) }

// IsRateLimited reports whether err carries a 429 and, when the response
// said so, when the limit resets (zero when the header was missing).
func IsRateLimited(err error) (reset time.Time, ok bool) {
	var e *APIError
	if errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests {
		return e.RateLimit.Reset, true
	}
	return time.Time{}, false
}

// IsAccountProblem reports whether err says the exporter cannot talk to
// the API for the account as a whole: a failed login or one deferred after
// failures, refused credentials, no (whole) response, or a server error.
// The rest are problems of one request, such as a 400 for a phone the
// account does not own or a body that does not decode; a 429 is neither,
// as the API answered and only asked to wait, nor is a login the client
// paces (LoginDeferredError.Paced).
func IsAccountProblem(err error) bool {
	if err == nil {
		return false
	}
	var deferred *LoginDeferredError
	if errors.As(err, &deferred) {
		return !deferred.Paced
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Endpoint == EndpointAuth {
			return true
		}
		return apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode >= 500
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// LoginDeferredError is returned without any request being sent when the
// client holds back: it is backing off after failed logins or after the
// API refused fresh credentials, or the logins it may spend in the current
// window are spent. Unwrap gives the last
// login error, if any, so IsUnauthorized tells a wrong password apart.
type LoginDeferredError struct {
	Until  time.Time // the earliest time the next login may be tried
	Reason string    // why, for people
	Last   error     // the last login error; nil when there was none
	// Paced is set when the logins the client may spend are spent: the
	// client paces itself, the API has not failed.
	Paced bool
}

// Error names when the next login may happen and the last login error.
func (e *LoginDeferredError) Error() string {
	s := fmt.Sprintf("login deferred until %s: %s", e.Until.UTC().Format(time.RFC3339), e.Reason)
	if e.Last != nil {
		s += "; last login error: " + e.Last.Error()
	}
	return s
}

// Unwrap returns the last login error.
func (e *LoginDeferredError) Unwrap() error { return e.Last }

// NextLogin reports whether err is a LoginDeferredError and, if so, the
// earliest time a login may be tried again.
func NextLogin(err error) (time.Time, bool) {
	var e *LoginDeferredError
	if errors.As(err, &e) {
		return e.Until, true
	}
	return time.Time{}, false
}

// SecretPlaceholder stands where a secret was, in every text the exporter shows.
const SecretPlaceholder = "<secret>"

var (
	// userinfo finds the password of a URL such as https://user:pass@host/.
	userinfo = regexp.MustCompile(`(://[^/:@\s]*):[^/@\s]*@`)
	// credentialPattern finds Authorization-style values a proxy might echo
	// in an error page, whatever secret they hold.
	credentialPattern = regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{4,}`)
)

// Scrub removes the given secrets, URL passwords and Authorization values
// from s before it is logged or shown. The client scrubs its errors; the
// collector scrubs again before a page, with the account's password.
func Scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 3 { // shorter strings would mangle ordinary text and cannot be meaningful secrets
			s = strings.ReplaceAll(s, sec, SecretPlaceholder)
		}
	}
	s = userinfo.ReplaceAllString(s, "$1:"+SecretPlaceholder+"@")
	return credentialPattern.ReplaceAllString(s, "$1 "+SecretPlaceholder)
}

// snippet returns at most n runes of b as one printable line: markup tags
// are dropped, whitespace and control characters collapse to one space and
// invalid UTF-8 becomes U+FFFD, so that an HTML error page from a proxy
// reads as a sentence in a log line.
func snippet(b []byte, n int) string {
	var out strings.Builder
	inTag, space := false, false
	count := 0
	for len(b) > 0 && count < n {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == '<':
			inTag = true
			space = true
			continue
		case inTag:
			if r == '>' {
				inTag = false
			}
			continue
		case unicode.IsSpace(r) || !unicode.IsPrint(r) && r != utf8.RuneError:
			space = true
			continue
		}
		if space && out.Len() > 0 {
			out.WriteByte(' ')
			count++
		}
		space = false
		out.WriteRune(r)
		count++
	}
	s := out.String()
	if len(b) > 0 {
		s += "…"
	}
	return s
}
