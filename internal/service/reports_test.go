package service

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// sent returns links of cards sent on day d (counted from reportEpoch),
// one from each sender to a recipient of their own.
func sent(d int, senders ...string) []parley.ShareLink {
	var out []parley.ShareLink
	for i, s := range senders {
		out = append(out, parley.ShareLink{MessageID: fmt.Sprintf("%d-%s", d, s), SenderID: s,
			UserID: "to-" + s, SentAt: dayStart(d).Add(time.Duration(i) * time.Minute)})
	}
	return out
}

// A week shows when what its suppressed days leave, taken together, is
// counted from k people or more, and hides when it is counted from fewer;
// a fortnight likewise for its suppressed weeks.
func TestReports_ComplementOfSuppressedDays(t *testing.T) {
	const k = 3
	f := 14 * 100 // a fortnight's first day, a Monday
	for _, c := range []struct {
		name      string
		links     []parley.ShareLink
		weekShown [2]bool
		fortnight bool
	}{
		{"small days that together are k", concat(sent(f, "a", "b", "c"), sent(f+1, "d"), sent(f+2, "e", "f"), sent(f+7, "a", "b", "c")),
			[2]bool{true, true}, true},
		{"one small day", concat(sent(f, "a", "b", "c"), sent(f+1, "d")), [2]bool{false, false}, false},
		{"one small day, already counted in a big one", concat(sent(f, "a", "b", "c"), sent(f+1, "a")), [2]bool{false, false}, false},
		{"two small weeks that together are k", concat(sent(f, "a", "b"), sent(f+7, "c")), [2]bool{false, false}, true},
		{"a small week beside a big one", concat(sent(f, "a", "b", "c"), sent(f+7, "d")), [2]bool{true, false}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSuppression(c.links, f, f+14, k)
			days, weeks, fortnight := s.fortnight(f, bySenders)
			if weeks != c.weekShown || fortnight != c.fortnight {
				t.Errorf("weeks shown %v, fortnight %v; want %v, %v (days %v)", weeks, fortnight, c.weekShown, c.fortnight, days)
			}
		})
	}
}

func concat(lists ...[]parley.ShareLink) []parley.ShareLink {
	var out []parley.ShareLink
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// A cell is shown from k people on: k-1 senders, or recipients, are "<k",
// k are shown.
func TestReports_CellsShowFromKPeople(t *testing.T) {
	const k = 3
	end := dayStart(1)
	for _, c := range []struct {
		name  string
		links []parley.ShareLink
		g     int
		shown bool
	}{
		{"k-1 senders", sent(0, "a", "b"), bySenders, false},
		{"k senders", sent(0, "a", "b", "c"), bySenders, true},
		{"k-1 senders of many shares", concat(sent(0, "a", "b"), sent(0, "a", "b"), sent(0, "a", "b")), bySenders, false},
		{"k-1 recipients", sent(0, "a", "b"), byRecipients, false},
		{"k recipients", sent(0, "a", "b", "c"), byRecipients, true},
	} {
		if got := countCell(c.links, end).safe(c.g, k); got != c.shown {
			t.Errorf("%s: shown %v, want %v", c.name, got, c.shown)
		}
	}
}

// Clicks show by the fortnight only, though its days and weeks hold k
// recipients who clicked and k who did not: they would not add up to it.
func TestReports_ClicksShowByTheFortnightOnly(t *testing.T) {
	const k = 3
	f := 14 * 100 // a fortnight's first day, a Monday
	var links []parley.ShareLink
	for day := range 14 {
		clicked := dayStart(f + day).Add(time.Hour)
		for i := range 2 * k { // k of each day's recipients click within the hour
			l := parley.ShareLink{MessageID: fmt.Sprint(day, i), SenderID: "s", UserID: fmt.Sprint("r", day, i), SentAt: dayStart(f + day)}
			if i < k {
				l.ClickedAt = &clicked
			}
			links = append(links, l)
		}
	}
	s := newSuppression(links, f, f+14, k)
	for _, n := range []int{1, 7, 14} {
		for start, shown := range s.shown(n) {
			if want := n == 14; shown[byClicks] != want || !shown[byRecipients] {
				t.Errorf("the %d days from day %d: clicks shown %v, recipients %v; want %v, true", n, start-f, shown[byClicks], shown[byRecipients], want)
			}
		}
	}
}

// Clicks show only when k recipients clicked and k did not, counting the
// clicks made before the period's end.
func TestReports_ClicksNeedBothSides(t *testing.T) {
	end := dayStart(1)
	before, after := end.Add(-time.Hour), end.Add(time.Hour)
	links := func(clicks ...*time.Time) []parley.ShareLink {
		var out []parley.ShareLink
		for i, at := range clicks {
			out = append(out, parley.ShareLink{MessageID: fmt.Sprint(i), SenderID: "s", UserID: fmt.Sprint("r", i), SentAt: dayStart(0), ClickedAt: at})
		}
		return out
	}
	for _, c := range []struct {
		name  string
		links []parley.ShareLink
		shown bool
	}{
		{"3 clicked, 3 did not", links(&before, &before, &before, nil, nil, nil), true},
		{"all 6 clicked", links(&before, &before, &before, &before, &before, &before), false},
		{"none clicked", links(nil, nil, nil, nil, nil, nil), false},
		{"3 clicked, 2 did not", links(&before, &before, &before, nil, nil), false},
		{"3 clicked, 3 only after the end", links(&before, &before, &before, &after, &after, &after), true},
		{"2 clicked before the end, 1 after", links(&before, &before, &after, nil, nil, nil), false},
	} {
		if got := countCell(c.links, end).safe(byClicks, 3); got != c.shown {
			t.Errorf("%s: shown %v, want %v", c.name, got, c.shown)
		}
	}
}

// Days are counted from the epoch Monday whatever the date's distance from
// it, past the 292 years a time.Duration reaches: each day's index gives
// back its start, and the day before a start is the index before.
func TestReports_DaysCountedFarFromTheEpoch(t *testing.T) {
	for _, date := range []string{"0001-01-01", "1600-01-01", "1677-09-21", "1970-01-04", "1970-01-05", "2262-04-12", "9999-12-31"} {
		start, err := time.Parse(time.DateOnly, date)
		if err != nil {
			t.Fatal(err)
		}
		i := dayIndex(start.Add(13 * time.Hour))
		if got := dayStart(i); !got.Equal(start) {
			t.Errorf("%s: day %d starts %s", date, i, got.Format(time.DateOnly))
		}
		if got := dayIndex(start.Add(-time.Second)); got != i-1 {
			t.Errorf("%s: the second before is on day %d, want %d", date, got, i-1)
		}
	}
}
