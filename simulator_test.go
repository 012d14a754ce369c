package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

func TestSimulatorCommandFaultFlags(t *testing.T) {
	t.Parallel()
	t.Run("bad flags exit before listening", func(t *testing.T) {
		for _, c := range []struct {
			flag, log string
		}{
			{"--fault.server-errors=1.5", "server error share 1.5: use a share from 0 to 1"},
			{"--fault.401-every=1m", "set both the period and the duration"},
			{"--credential-uses=-1", "must not be negative"},
		} {
			e, _, logs := newEnv(t)
			addr := promtest.FreePort(t)
			if code := run([]string{"simulator", "--listen-address=" + addr, c.flag}, e); code != 1 {
				t.Errorf("%s: exit %d, want 1", c.flag, code)
			}
			if !strings.Contains(logs.String(), c.log) {
				t.Errorf("%s: log does not say %q:\n%s", c.flag, c.log, logs.String())
			}
			assertNotListening(t, addr)
		}
	})
	t.Run("switches reach the simulator", func(t *testing.T) {
		e, _, _ := newEnv(t)
		addr := promtest.FreePort(t)
		signals := e.signals
		done := make(chan int, 1)
		// A 401 storm that never ends.
		go func() {
			done <- run([]string{"simulator", "--listen-address=" + addr, "--auth-limit=2", "--window=1h",
				"--fault.401-every=1m", "--fault.401-for=1m"}, e)
		}()
		base := "http://" + addr
		var resp *http.Response
		var err error
		for range 200 {
			if resp, err = http.PostForm(base+"/auth", url.Values{"tool": {"dev"}, "login": {"demo-support"}, "password": {"demo-support-pass"}}); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond) // waiting for the listener, not for time to pass
		}
		if err != nil {
			t.Fatal(err)
		}
		var creds struct{ Login, Password string }
		_ = json.NewDecoder(resp.Body).Decode(&creds)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("auth: %d, limit %q; want 200 and the --auth-limit", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
		}
		req, _ := http.NewRequest("GET", base+"/volume/20240601/20240601/day/ALL", nil)
		req.SetBasicAuth(creds.Login, creds.Password) // good credentials: only the storm refuses them
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("data: %d, want 401", resp.StatusCode)
		}
		signals <- syscall.SIGTERM
		if code := <-done; code != 0 {
			t.Errorf("exit %d", code)
		}
	})
}

// TestSimulatorConfig: docs/simulator.yml configures every demo account of
// the simulator command at its default address, and the documented three
// commands work: the simulator, then --config.check --config.check.online
// with that file (here on a free port instead of the default), all passing.
func TestSimulatorConfig(t *testing.T) {
	t.Parallel()
	const file = "docs/simulator.yml"
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://" + simulatorAddress + "/"; cfg.BaseURL != want {
		t.Errorf("%s: base_url %s, want the simulator's default %s", file, cfg.BaseURL, want)
	}
	demo := simulator.DemoAccounts()
	if len(cfg.Accounts) != len(demo) {
		t.Fatalf("%s: %d accounts, the simulator has %d", file, len(cfg.Accounts), len(demo))
	}
	for i, a := range cfg.Accounts {
		d := demo[i]
		got := []string{string(a.Tool), a.Login, a.Secret(), strings.Join(a.Phones, ","), a.Location.String()}
		want := []string{string(d.Tool), d.Login, d.Password, strings.Join(append([]string{"ALL"}, d.Phones...), ","), d.TimeZone.String()}
		if !slices.Equal(got, want) {
			t.Errorf("%s: accounts[%d] is %q, the simulator's is %q", file, i, got, want)
		}
	}

	e, _, _ := newEnv(t)
	addr := promtest.FreePort(t)
	done := make(chan int, 1)
	go func() { done <- run([]string{"simulator", "--listen-address=" + addr}, e) }()
	waitFor(t, "the simulator to listen", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	moved := writeTemp(t, testDir(t), "simulator.yml", strings.Replace(string(content), "base_url: http://"+simulatorAddress+"/", "base_url: http://"+addr+"/", 1))
	check, out, logs := newEnv(t)
	if code := run([]string{"--config.file=" + moved, "--config.check", "--config.check.online"}, check); code != 0 {
		t.Errorf("--config.check.online exited %d:\n%s%s", code, out, logs)
	}
	if want := moved + ": online check passed: 9 check(s)\n"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("stdout does not end in %q:\n%s", want, out)
	}
	e.signals <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Errorf("the simulator exited %d", code)
	}
}
