package simulator

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Salts that keep the fault draws of one request independent.
const (
	drawServerError = 0x51
	drawMalformed   = 0x52
	drawBadGateway  = 0x53
	drawMalformKind = 0x54
)

// ServeHTTP serves /auth and /volume/{start}/{end}/{period}/{phone}, at the
// root or below /api/.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.draw(seq, drawBadGateway) < f.BadGatewayRate {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
		return
	}

	path := r.URL.EscapedPath()
	path = strings.TrimPrefix(path, "/api")
	switch {
	case path == "/auth":
		s.serveAuth(w, r)
	case path == "/volume" || strings.HasPrefix(path, "/volume/"):
		s.serveVolume(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "/volume"), "/"), f, seq)
	default:
		s.writeHeaders(w, s.opts.DataLimit, s.opts.DataLimit, s.now())
		writeError(w, http.StatusNotFound, "no such resource: use /auth or /volume/{start}/{end}/{period}/{phone}")
	}
}

func (s *Simulator) now() time.Time { return s.opts.Now() }

// draw is a deterministic number in [0, 1) for request seq and purpose salt.
func (s *Simulator) draw(seq, salt uint64) float64 {
	return unit(mix(uint64(s.opts.Seed)*0x9e3779b97f4a7c15 ^ seq<<8 ^ salt))
}

func (s *Simulator) serveAuth(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeHeaders(w, s.opts.AuthLimit, s.opts.AuthLimit, now)
		writeError(w, http.StatusMethodNotAllowed, "invalid HTTP method: only POST allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.writeHeaders(w, s.opts.AuthLimit, s.opts.AuthLimit, now)
		writeError(w, http.StatusBadRequest, "malformed form body")
		return
	}
	tool, login, password := r.PostForm.Get("tool"), r.PostForm.Get("login"), r.PostForm.Get("password")
	if login == "" {
		s.writeHeaders(w, s.opts.AuthLimit, s.opts.AuthLimit, now)
		writeError(w, http.StatusBadRequest, "missing login")
		return
	}

	s.mu.Lock()
	st := s.statsLocked(login)
	st.AuthRequests++
	win := windowIn(s.authWin, login, now, s.opts.Window)
	if win.used >= s.opts.AuthLimit {
		st.AuthRateLimited++
		s.mu.Unlock()
		s.writeHeaders(w, s.opts.AuthLimit, 0, now)
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	win.used++
	remaining := s.opts.AuthLimit - win.used
	s.mu.Unlock()
	s.writeHeaders(w, s.opts.AuthLimit, remaining, now)

	if _, err := voicetrends.ParseTool(tool); err != nil {
		writeError(w, http.StatusBadRequest, "invalid tool: use dev, insight or fuseplus")
		return
	}
	if password == "" {
		writeError(w, http.StatusBadRequest, "missing password")
		return
	}
	acct := s.account(voicetrends.Tool(tool), login, password)
	if acct == nil {
		writeError(w, http.StatusUnauthorized, "invalid credentials or inactive account")
		return
	}

	s.mu.Lock()
	for k, c := range s.creds { // forget expired credentials so the map stays small
		if !now.Before(c.lastUse.Add(s.opts.CredentialTTL)) {
			delete(s.creds, k)
		}
	}
	var raw [32]byte
	for i := 0; i < len(raw); i += 8 {
		v := s.rng.Uint64()
		for j := range 8 {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	tl, tp := hex.EncodeToString(raw[:16]), hex.EncodeToString(raw[16:])
	s.creds[tl] = &tempCred{acct: acct, password: tp, lastUse: now}
	st.AuthSucceeded++
	s.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]string{"login": tl, "password": tp})
}

func (s *Simulator) serveVolume(w http.ResponseWriter, r *http.Request, rest string, f Faults, seq uint64) {
	now := s.now()
	user, pass, hasAuth := r.BasicAuth()

	// One critical section decides the answer, so that concurrent requests
	// can never spend more than the limit between them.
	code, msg := 0, ""
	limit, remaining := s.opts.DataLimit, s.opts.DataLimit
	var (
		win *window
		st  *Stats
	)
	s.mu.Lock()
	var acct *account
	if c := s.creds[user]; hasAuth && c != nil && c.password == pass {
		if now.Before(c.lastUse.Add(s.opts.CredentialTTL)) && (s.opts.CredentialUses <= 0 || c.uses < s.opts.CredentialUses) {
			acct = c.acct
			c.lastUse = now
			c.uses++
		} else {
			delete(s.creds, user)
			s.statsLocked(c.acct.Login).Unauthorized++
		}
	}
	if acct != nil {
		st = s.statsLocked(acct.Login)
		win = windowIn(s.dataWin, acct, now, s.opts.Window)
		remaining = max(0, limit-win.used-f.OtherClientPerWindow)
	}
	switch {
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		code, msg = http.StatusMethodNotAllowed, "invalid HTTP method: only GET allowed"
	case !hasAuth:
		code, msg = http.StatusUnauthorized, "missing authentication: use HTTP Basic with the temporary credentials"
	case acct == nil:
		code, msg = http.StatusUnauthorized, "invalid or expired credentials"
	case f.Force401 || f.Storm401.Active(now):
		st.Unauthorized++
		code, msg = http.StatusUnauthorized, "invalid or expired credentials"
	case f.Force429 || f.Storm429.Active(now) || remaining <= 0:
		st.DataRateLimited++
		remaining = 0
		code, msg = http.StatusTooManyRequests, "rate limit exceeded"
	default:
		win.used++
		st.DataRequests++
		remaining = max(0, limit-win.used-f.OtherClientPerWindow)
	}
	s.mu.Unlock()
	s.writeHeaders(w, limit, remaining, now)
	if code != 0 {
		writeError(w, code, msg)
		return
	}

	q, msg := parseVolumePath(rest)
	if msg == "" && acct.numbersFor(q.phone) == nil {
		msg = fmt.Sprintf("phone %q is not a number of this account", q.phone)
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if s.draw(seq, drawServerError) < f.ServerErrorRate || f.ServerErrorPhone != "" && q.phone == f.ServerErrorPhone {
		s.mu.Lock()
		st.ServerErrors++
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "unknown error")
		return
	}

	body := s.volumeBody(acct, q, now, f)
	if s.draw(seq, drawMalformed) < f.MalformedRate {
		body = malformed(body, s.draw(seq, drawMalformKind))
	}
	s.mu.Lock()
	st.DataServed[win.start]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

type volumeQuery struct {
	start, end voicetrends.Date
	period     voicetrends.Period
	phone      string
}

// parseVolumePath reads "start/end/period/phone"; a non-empty message is
// the 400 answer.
func parseVolumePath(rest string) (volumeQuery, string) {
	var q volumeQuery
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(segs) != 4 {
		return q, "malformed request: use /volume/{start}/{end}/{period}/{phone}"
	}
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return q, "malformed path segment"
		}
		segs[i] = v
	}
	var err error
	if q.start, err = voicetrends.ParseDate(segs[0]); err != nil {
		return q, "invalid start date: use YYYYMMDD"
	}
	if q.end, err = voicetrends.ParseDate(segs[1]); err != nil {
		return q, "invalid end date: use YYYYMMDD"
	}
	if q.start.After(q.end) {
		return q, "start date is after end date"
	}
	if q.start.DaysUntil(q.end) >= MaxRangeDays {
		return q, fmt.Sprintf("date range longer than %d days", MaxRangeDays)
	}
	if q.period, err = voicetrends.ParsePeriod(segs[2]); err != nil {
		return q, "invalid period: use day, week or month"
	}
	q.phone = segs[3]
	return q, ""
}

// volumeBody renders the buckets of q as the API does.
func (s *Simulator) volumeBody(a *account, q volumeQuery, now time.Time, f Faults) []byte {
	nums := a.numbersFor(q.phone)
	var buckets []voicetrends.Bucket
	first := periodStart(q.period, q.start, s.opts.WeekStart)
	if first.Before(q.start) {
		first = q.period.Next(first)
	}
	for p := first; !p.After(q.end); p = q.period.Next(p) {
		if p.Midnight(a.loc).After(now) {
			break // no bucket for a period that has not begun
		}
		buckets = append(buckets, s.bucket(a, nums, p, q.period.Next(p), now))
	}
	return renderVolume(buckets, f)
}

// renderVolume writes the six series, keys in time order, honouring the
// PHP quirks.
func renderVolume(buckets []voicetrends.Bucket, f Faults) []byte {
	b := make([]byte, 0, 64+len(buckets)*6*24)
	b = append(b, '{')
	for i, fig := range voicetrends.Figures {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, fig.Key())
		b = append(b, ':')
		n := 0
		for _, bk := range buckets {
			v, ok := bk.Get(fig)
			if !ok {
				continue
			}
			if n == 0 {
				b = append(b, '{')
			} else {
				b = append(b, ',')
			}
			n++
			b = append(b, '"')
			b = strconv.AppendInt(b, bk.Start.Unix(), 10)
			b = append(b, '"', ':')
			if f.NumbersAsStrings {
				b = append(b, '"')
			}
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
			if f.NumbersAsStrings {
				b = append(b, '"')
			}
		}
		switch {
		case n > 0:
			b = append(b, '}')
		case f.EmptyAsArray:
			b = append(b, '[', ']')
		default:
			b = append(b, '{', '}')
		}
	}
	return append(b, '}')
}

// malformed spoils a body in one of three ways a broken backend might.
func malformed(body []byte, u float64) []byte {
	switch {
	case u < 1.0/3:
		return body[:len(body)/2] // cut short
	case u < 2.0/3:
		return []byte(`{"calls":{"yesterday":5}}`)
	default:
		return []byte(`{"calls":{"1517461200":"many"}}`)
	}
}

// windowIn returns the current window of key in m, starting a new one
// when the clock has moved past the old. The caller holds s.mu.
func windowIn[K comparable](m map[K]*window, key K, now time.Time, d time.Duration) *window {
	start, _ := voicetrends.AlignedWindow(now, d)
	w := m[key]
	if w == nil || !w.start.Equal(start) {
		w = &window{start: start}
		m[key] = w
	}
	return w
}

// writeHeaders sets the Date header from the simulator's clock, as an HTTP
// server dates its answers by its own clock, and the X-RateLimit-* headers
// of the window holding now.
func (s *Simulator) writeHeaders(w http.ResponseWriter, limit, remaining int, now time.Time) {
	_, end := voicetrends.AlignedWindow(now, s.opts.Window)
	h := w.Header()
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(end.Unix(), 10))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // a map of strings always marshals
		code, body = http.StatusInternalServerError, []byte(`{"error":"unknown error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}
