package voicetrends

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// One HTTP exchange with the API, and the scrubbing of every secret from
// what comes back.

// Error bodies are only read this far: enough for {"error": ...} or the
// start of an HTML page.
const maxErrorBody = 64 << 10

// exchange sends req (with Basic auth when basic is set), reports it to the
// Observer (and to after, once the outcome is known), hands a 200 body to
// decode and turns anything else into an *APIError. Every secret is
// scrubbed from the error text.
func (c *Client) exchange(req *http.Request, endpoint string, basic *credentials, decode func(io.Reader) error, after func(RateLimit, int)) (err error) {
	secrets := []string{c.cfg.Password}
	if basic != nil {
		req.SetBasicAuth(basic.login, basic.password)
		// The header value is a secret too, as is each half of it.
		secrets = append(secrets, basic.login, basic.password,
			base64.StdEncoding.EncodeToString([]byte(basic.login+":"+basic.password)))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)

	began := time.Now() // durations use the real clock even when Now is injected
	code := 0
	rl := unknownRateLimit
	defer func() {
		if c.cfg.Observer != nil {
			c.cfg.Observer.ObserveRequest(endpoint, code, time.Since(began))
			if code != 0 {
				c.cfg.Observer.ObserveRateLimit(endpoint, rl)
			}
		}
		if after != nil {
			after(rl, code)
		}
		if err != nil {
			err = &scrubbedError{err: err, secrets: secrets}
		}
	}()

	sent := c.cfg.Clock.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	code = resp.StatusCode
	rl = ParseRateLimit(resp.Header)
	if c.cfg.APIClock != nil && rl.Known() { // before after(): the limiter reads the reset by the API's clock
		c.cfg.APIClock.Observe(sent, c.cfg.Clock.Now(), resp.Header)
	}
	if code != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &APIError{Endpoint: endpoint, StatusCode: code, Message: Scrub(errorMessage(body), secrets...), RateLimit: rl}
	}
	if err := decode(resp.Body); err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	return nil
}

// errorMessage is the body's "error" text, or a short snippet of a body
// that is not the API's JSON (an HTML page from a proxy, say).
func errorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return snippet([]byte(s), 200)
		}
		return snippet(e.Error, 200)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return "empty body"
	}
	return "unexpected body: " + snippet(body, 120)
}

// scrubbedError removes secrets from an error's text while keeping the
// chain for errors.Is and errors.As (transport errors can quote a URL, and
// a server can echo anything).
type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string { return Scrub(e.err.Error(), e.secrets...) }

func (e *scrubbedError) Unwrap() error { return e.err }

// GoString keeps %#v from printing the secrets list.
func (e *scrubbedError) GoString() string { return fmt.Sprintf("voicetrends.error(%q)", e.Error()) }

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
