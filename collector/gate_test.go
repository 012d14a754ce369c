package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/budget"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func TestGateTransport(t *testing.T) {
	var served atomic.Int32
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		arrived <- struct{}{}
		select {
		case <-release:
			_, _ = io.WriteString(w, "figures")
		case <-r.Context().Done():
		}
	}))
	defer server.Close()
	get := func(g *gate, ctx context.Context) (string, error) {
		client := &http.Client{Transport: gateTransport{g, http.DefaultTransport}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	t.Run("closed: no request starts", func(t *testing.T) {
		g := &gate{}
		r := g.open(context.Background())
		r.close()
		if _, err := get(g, r.aborted); !isClosed(err) {
			t.Errorf("err = %v, want the gate's refusal", err)
		}
		if n := served.Load(); n != 0 {
			t.Errorf("the server saw %d requests, want none", n)
		}
	})
	t.Run("closed with the exporter: a gate opened later is closed", func(t *testing.T) {
		parent, closeAll := context.WithCancel(context.Background())
		closeAll()
		g := &gate{}
		r := g.open(parent)
		if _, err := get(g, r.aborted); !isClosed(err) {
			t.Errorf("err = %v, want the gate's refusal", err)
		}
	})
	t.Run("under way: finishes after the close", func(t *testing.T) {
		g := &gate{}
		r := g.open(context.Background())
		defer r.abort()
		result := make(chan error, 1)
		go func() {
			body, err := get(g, r.aborted)
			if err == nil && body != "figures" {
				err = errors.New("body " + body)
			}
			result <- err
		}()
		<-arrived
		r.close()
		release <- struct{}{}
		if err := <-result; err != nil {
			t.Errorf("the request under way at the close: %v, want it finished", err)
		}
	})
	t.Run("under way: cut off by the abort", func(t *testing.T) {
		g := &gate{}
		r := g.open(context.Background())
		result := make(chan error, 1)
		go func() {
			_, err := get(g, r.aborted)
			result <- err
		}()
		<-arrived
		r.close()
		r.abort()
		select {
		case err := <-result:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want the request aborted", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the request was not aborted")
		}
	})
	t.Run("never opened: the request passes", func(t *testing.T) {
		// close, not a send: the aborted request's handler may still wait for
		// release (its server side sees the abort when it reads the closed
		// connection, which under load can come after this request arrives),
		// and a send could wake it instead of this request's, which would
		// then wait for ever. The last subtest, so nothing sends after.
		go func() { <-arrived; close(release) }()
		if body, err := get(&gate{}, context.Background()); err != nil || body != "figures" {
			t.Errorf("get = %q, %v; want the figures", body, err)
		}
	})
}

// A wait for the budget ends when the gate closes, with the gate's refusal,
// and spends nothing.
func TestGatedBudgetWaitEndsAtClose(t *testing.T) {
	// The real clock, whose Sleep blocks: a second request waits for the next hour.
	b := budget.New(1, time.Hour, clock.Real{})
	if err := b.Wait(context.Background()); err != nil { // the window's one request
		t.Fatal(err)
	}
	g := &gate{}
	r := g.open(context.Background())
	defer r.abort()
	result := make(chan error, 1)
	go func() { result <- gatedBudget{g, b}.Wait(r.aborted) }()
	r.close()
	select {
	case err := <-result:
		if !isClosed(err) {
			t.Errorf("Wait = %v, want the gate's refusal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait for the budget outlived the close")
	}
	if err := (gatedBudget{g, b}).Wait(r.aborted); !isClosed(err) {
		t.Errorf("Wait after the close = %v, want the gate's refusal at once", err)
	}
	if spent, _, _ := b.Spent(); spent != 1 {
		t.Errorf("%d requests spent, want only the first", spent)
	}
}

func TestHint404(t *testing.T) {
	notFound := fmt.Errorf("voicetrends: %w", &voicetrends.APIError{Endpoint: "auth", StatusCode: 404})
	if got, want := hint404(notFound).Error(), "voicetrends: auth: HTTP 404 Not Found (the base_url is probably wrong: the API's paths are under /api/, e.g. https://voicetrends.plumvoice.com/api/)"; got != want {
		t.Errorf("hint404:\n got: %s\nwant: %s", got, want)
	}
	if err := hint404(&voicetrends.APIError{Endpoint: "volume", StatusCode: 400}); strings.Contains(err.Error(), "base_url") {
		t.Errorf("a 400 hints at the base_url: %v", err)
	}
}
