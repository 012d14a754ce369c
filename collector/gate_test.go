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
	client := &http.Client{Transport: gateTransport{http.DefaultTransport}}
	get := func(ctx context.Context) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	t.Run("stopped: no request starts", func(t *testing.T) {
		hard, stop := context.Background(), func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}()
		if _, err := get(withHard(stop, hard)); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := served.Load(); n != 0 {
			t.Errorf("the server saw %d requests, want none", n)
		}
	})
	t.Run("under way: finishes after the stop", func(t *testing.T) {
		hard, cancelHard := context.WithCancel(context.Background())
		defer cancelHard()
		stop, cancelStop := context.WithCancel(hard)
		result := make(chan error, 1)
		go func() {
			body, err := get(withHard(stop, hard))
			if err == nil && body != "figures" {
				err = errors.New("body " + body)
			}
			result <- err
		}()
		<-arrived
		cancelStop()
		release <- struct{}{}
		if err := <-result; err != nil {
			t.Errorf("the request under way at the stop: %v, want it finished", err)
		}
	})
	t.Run("under way: aborted when the hard context ends", func(t *testing.T) {
		hard, cancelHard := context.WithCancel(context.Background())
		stop, cancelStop := context.WithCancel(hard)
		defer cancelStop()
		result := make(chan error, 1)
		go func() {
			_, err := get(withHard(stop, hard))
			result <- err
		}()
		<-arrived
		cancelStop()
		cancelHard()
		select {
		case err := <-result:
			if err == nil {
				t.Errorf("the request finished, want it aborted")
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the request was not aborted")
		}
	})
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
