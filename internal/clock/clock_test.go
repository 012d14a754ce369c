package clock

import (
	"context"
	"testing"
	"time"
)

func TestShiftedRunsAtRealSpeedFromItsStart(t *testing.T) {
	start := time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)
	c := StartingAt(start)
	first := c.Now()
	if d := first.Sub(start); d < 0 || d > time.Second {
		t.Fatalf("Now() = %s right after StartingAt(%s), want within a second of it", first, start)
	}
	if err := c.Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := c.Now().Sub(first); d < 20*time.Millisecond {
		t.Errorf("after sleeping 20ms the clock moved %s", d)
	}
}

func TestManualMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)
	c := NewManual(start)
	if err := c.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), start.Add(time.Hour); !got.Equal(want) {
		t.Errorf("after Sleep(1h) Now() = %s, want %s", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil {
		t.Error("Sleep on a cancelled context succeeded")
	}
	if got, want := c.Now(), start.Add(time.Hour); !got.Equal(want) {
		t.Errorf("a cancelled Sleep moved the clock to %s", got)
	}
}
