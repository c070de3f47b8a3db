package apptest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1, free a moment ago, for a
// program the test starts that must be told its port (a proxy, NATS).
//
// The port is taken from below the kernel's range of ephemeral ports, which
// it never hands out by itself: a port from that range, found free by
// listening on port 0 and closing, may be given to any other socket before
// the program binds it (another test's listener on port 0, or the local end
// of any outgoing connection), and the program then fails with "address
// already in use". Below the range only a program binding a port by number
// can take it, and the random choice makes two tests unlikely to pick one.
func FreePort(tb testing.TB) int {
	tb.Helper()
	const first = 10000 // above the ports services commonly listen on
	low := ephemeralLow()
	for range 100 {
		port := first + rand.IntN(low-first)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	tb.Fatalf("no free port on 127.0.0.1 between %d and %d", first, low)
	return 0
}

// ephemeralLow is the first of the kernel's ephemeral ports: Linux's
// setting, or its default, 32768 (below IANA's 49152), when it cannot be
// read or leaves too few ports below it.
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var low, high int
		if _, err := fmt.Sscan(string(b), &low, &high); err == nil && low >= 11000 {
			return low
		}
	}
	return 32768
}
