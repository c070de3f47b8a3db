package service

import (
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// waitFor fails the test unless cond holds within a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// waitingIn returns how many goroutines wait on a sync.Cond in fn, a
// function as stack traces name it, such as "(*accessWatch).fresh": the
// callers a test has started that are now waiting, where a sleep would
// only hope they are.
func waitingIn(fn string) int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "sync.(*Cond).Wait") && strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// TestSplitGrantsChange: an operator's decision that ends many grants is
// told in events of at most so many grants, each for the members of its
// own grants only, so that no event outgrows what NATS takes; a member's
// own many grants go to that member in each.
func TestSplitGrantsChange(t *testing.T) {
	change := parley.GrantsEnded{GrantIDs: []string{"g1", "g2", "g3", "g4", "g5"}, Why: "suspended"}
	got := splitGrantsChange([]string{"u2", "u1", "u3", "u3", "u1"}, change, 2)
	want := []grantsChangePart{
		{[]string{"u1", "u2"}, parley.GrantsEnded{GrantIDs: []string{"g1", "g2"}, Why: "suspended"}},
		{[]string{"u3"}, parley.GrantsEnded{GrantIDs: []string{"g3", "g4"}, Why: "suspended"}},
		{[]string{"u1"}, parley.GrantsEnded{GrantIDs: []string{"g5"}, Why: "suspended"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("five grants of three members, two an event:\n got %+v\nwant %+v", got, want)
	}
	one := splitGrantsChange([]string{"u9"}, parley.GrantsEnded{GrantIDs: []string{"g1", "g2", "g3"}}, 2)
	if len(one) != 2 || !slices.Equal(one[0].userIDs, []string{"u9"}) || !slices.Equal(one[1].userIDs, []string{"u9"}) ||
		!slices.Equal(one[1].change.GrantIDs, []string{"g3"}) {
		t.Errorf("one member's three grants, two an event: %+v", one)
	}
	if none := splitGrantsChange(nil, parley.GrantsEnded{}, 2); len(none) != 0 {
		t.Errorf("no grants: %+v", none)
	}
}
