package freeport

import (
	"fmt"
	"net"
	"testing"
)

// Get's ports are ones the kernel never hands out by itself (below its
// ephemeral range), and free: a program told one can bind it.
func TestGet_BelowTheEphemeralRangeAndFree(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		port, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if port < first || port >= low {
			t.Fatalf("port %d, want one from %d up to the ephemeral range's first, %d", port, first, low)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		ln.Close()
	}
}
