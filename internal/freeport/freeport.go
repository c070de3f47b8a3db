// Package freeport finds a TCP port on loopback for a program that must be
// told its port before it starts: a server a benchmark runs, a proxy or
// NATS a test runs.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// first is the lowest port Get returns: above those services commonly
// listen on.
const first = 10000

// Get returns a TCP port on 127.0.0.1, free a moment ago.
//
// The port is taken from below the kernel's range of ephemeral ports, which
// it never hands out by itself: a port from that range, found free by
// listening on port 0 and closing, may be given to any other socket before
// the program binds it (another listener on port 0, or the local end of
// any outgoing connection), and the program then fails with "address
// already in use". Below the range only a program binding a port by number
// can take it, and the random choice makes two callers unlikely to pick
// one.
func Get() (int, error) {
	low := ephemeralLow()
	for range 100 {
		port := first + rand.IntN(low-first)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1 between %d and %d", first, low)
}

// ephemeralLow is the first of the kernel's ephemeral ports: Linux's
// setting, or its default, 32768 (below IANA's 49152), when it cannot be
// read or leaves too few ports below it.
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var low, high int
		if _, err := fmt.Sscan(string(b), &low, &high); err == nil && low >= first+1000 {
			return low
		}
	}
	return 32768
}
