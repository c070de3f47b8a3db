package apptest

import (
	"fmt"
	"net"
	"testing"
)

// FreePort's ports are ones the kernel never hands out by itself (below its
// ephemeral range), and free: a program told one can bind it.
func TestFreePort_BelowTheEphemeralRangeAndFree(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		port := FreePort(t)
		if port < 10000 || port >= low {
			t.Fatalf("port %d, want one from 10000 up to the ephemeral range's first, %d", port, low)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		ln.Close()
	}
}
