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
	if e.Endpoint == EndpointAuth && e.StatusCode == http.StatusUnauthorized {
		// The commonest mix-up: the right login and password under the wrong tool.
		b.WriteString(" (check tool as well as login and password: one of " + toolList + ", the Plum tool the account belongs to)")
	}
	return b.String()
}

// toolList names the tools as the configuration spells them.
var toolList = string(ToolDev) + " | " + string(ToolInsight) + " | " + string(ToolFusePlus)

// volumeError is the error of one volume request. Its text names the
// request's path once: an error of the volume endpoint itself is not
// prefixed with the endpoint again. A 400 for a single number says how
// else it could be written, as the API matches numbers as the account
// lists them.
type volumeError struct {
	path, phone string
	err         error
}

func (e *volumeError) Error() string {
	s := "voicetrends: volume " + e.path + ": " + strings.TrimPrefix(e.err.Error(), EndpointVolume+": ")
	if hint := PhoneHint(e.phone, e.err); hint != "" {
		s += " (" + hint + ")"
	}
	return s
}

func (e *volumeError) Unwrap() error { return e.err }

// PhoneHint returns, for a 400 from the volume endpoint on a single number,
// the likely fix: the API refuses a number the account does not own, and
// an account's number is written one way (Plum and the simulator write
// +18005550100). It returns "" for any other error.
func PhoneHint(phone string, err error) string {
	var apiErr *APIError
	if phone == AllPhones || phone == "" || !errors.As(err, &apiErr) ||
		apiErr.Endpoint != EndpointVolume || apiErr.StatusCode != http.StatusBadRequest {
		return ""
	}
	return fmt.Sprintf("if the account lists it as %s, write that in phones", OtherPhoneForm(phone))
}

// OtherPhoneForm returns phone with its leading + dropped, or added; ten
// digits without a + read as a North American number lacking its country
// code, +1.
func OtherPhoneForm(phone string) string {
	if rest, ok := strings.CutPrefix(phone, "+"); ok {
		return rest
	}
	if len(phone) == 10 {
		return "+1" + phone
	}
	return "+" + phone
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
