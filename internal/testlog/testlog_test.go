package testlog

import (
	"fmt"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\n", 3, "a\nb"},
		{"a\nb\nc\nd\n", 2, "c\nd"},
		{"a\nb\nc", 2, "b\nc"},
	}
	for _, tc := range tests {
		var b Buffer
		fmt.Fprint(&b, tc.in)
		if got := b.Tail(tc.n); got != tc.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
