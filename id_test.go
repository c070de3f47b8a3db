package parley_test

import (
	"testing"

	"github.com/parleyhq/parley"
)

// TestIDBytes_RoundTrip: an identifier NewID returns is 16 bytes, which
// give it back, in the same order as the identifiers sort.
func TestIDBytes_RoundTrip(t *testing.T) {
	prev := [16]byte{}
	for range 100 {
		id := parley.NewID()
		b, ok := parley.IDBytes(id)
		if !ok {
			t.Fatalf("IDBytes(%q) refused an ID NewID returned", id)
		}
		if got := parley.IDFromBytes(b); got != id {
			t.Fatalf("IDFromBytes(IDBytes(%q)) = %q", id, got)
		}
		if string(b[:]) < string(prev[:]) {
			t.Fatalf("%q's bytes sort before the ID made before it", id)
		}
		prev = b
	}
}

// TestIDBytes_RefusesOtherForms: no string but one NewID could return has
// bytes, so that each 16 bytes are one identifier's only.
func TestIDBytes_RefusesOtherForms(t *testing.T) {
	id := parley.NewID()
	for _, s := range []string{
		"",
		id[:25],
		id + "0",
		"M" + id[1:],  // upper case
		"w" + id[1:],  // past the alphabet
		id[:25] + "1", // a bit set that encodes no byte
		"m1",
	} {
		if _, ok := parley.IDBytes(s); ok || parley.IsID(s) {
			t.Errorf("IDBytes(%q) took it for an ID", s)
		}
	}
}
