package voicetrends

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
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
