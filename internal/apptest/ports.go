package apptest

import (
	"testing"

	"github.com/parleyhq/parley/internal/freeport"
)

// FreePort returns a TCP port on 127.0.0.1, free a moment ago, for a
// program the test starts that must be told its port (a proxy, NATS); see
// freeport.Get.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freeport.Get()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}
