package reportchart_test

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/reportchart"
)

// report is a report of days periods from 2026-11-01 on, each day's two
// cells made by cells.
func report(days int, cells func(day int) (sent, clicked parley.Cell)) *parley.ShareReport {
	r := &parley.ShareReport{ClientID: "pc_test", Period: "day", MinPeople: 5, From: "2026-11-01"}
	for i := range days {
		d := fmt.Sprintf("2026-%02d-%02d", 11+i/30, 1+i%30)
		p := parley.SharePeriod{Start: d, End: d}
		p.SharesSent, p.Clicked = cells(i)
		r.Periods = append(r.Periods, p)
		r.To = d
	}
	return r
}

var (
	hidden = parley.Cell{Below: 5}
	shown  = parley.Cell{Value: 12}
)

// mark is a "<k" mark the chart writes: its middle across, its baseline
// and its font size.
type mark struct{ x, y, size float64 }

// marks returns the chart's "<k" marks, left to right.
func marks(t *testing.T, svg []byte) []mark {
	t.Helper()
	var found []mark
	for _, m := range regexp.MustCompile(`<text x="([\d.]+)" y="([\d.]+)" text-anchor="middle" font-size="([\d.]+)">&lt;5</text>`).FindAllSubmatch(svg, -1) {
		var v [3]float64
		for i := range v {
			f, err := strconv.ParseFloat(string(m[i+1]), 64)
			if err != nil {
				t.Fatal(err)
			}
			v[i] = f
		}
		found = append(found, mark{v[0], v[1], v[2]})
	}
	slices.SortFunc(found, func(a, b mark) int { return int(a.x*10 - b.x*10) })
	return found
}

// overlapping returns the first two marks of the list that run into each
// other, each taken as wide as its two characters at 0.6 of its font size,
// the most sans-serif digits and signs take, or nil.
func overlapping(ms []mark) []mark {
	for i := 1; i < len(ms); i++ {
		a, b := ms[i-1], ms[i]
		if a.y == b.y && b.x-a.x < (a.size+b.size)*0.6 {
			return []mark{a, b}
		}
	}
	return nil
}

// A day whose two bars are both hidden gets one "<k" mark over the pair,
// centred, not one each, which crowd each other on the desktop chart; a day
// with one hidden bar keeps its mark over that bar; and however many days
// the chart holds, no two marks run into each other: where a mark has no
// room, the hatching says it.
func TestSVG_HiddenMarksDoNotCrowd(t *testing.T) {
	t.Run("BothHidden", func(t *testing.T) {
		svg := reportchart.Wide.SVG(report(14, func(int) (parley.Cell, parley.Cell) { return hidden, hidden }))
		ms := marks(t, svg)
		if len(ms) != 14 {
			t.Fatalf("%d marks over 14 days of hidden pairs, want one a day:\n%s", len(ms), svg)
		}
		if o := overlapping(ms); o != nil {
			t.Errorf("marks %v run into each other", o)
		}
		// Each mark sits midway over its day's two bars.
		bars := regexp.MustCompile(`<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="url\(#hidden\)" stroke="#718096"><title>`).FindAllSubmatch(svg, -1)
		if len(bars) != 28 {
			t.Fatalf("%d hidden bars, want 28", len(bars))
		}
		for i, m := range ms {
			left, _ := strconv.ParseFloat(string(bars[2*i][1]), 64)
			right, _ := strconv.ParseFloat(string(bars[2*i+1][1]), 64)
			w, _ := strconv.ParseFloat(string(bars[2*i+1][2]), 64)
			if mid := (left + right + w) / 2; m.x < mid-0.2 || m.x > mid+0.2 {
				t.Errorf("day %d's mark is at %.1f, its bars' middle at %.1f", i+1, m.x, mid)
			}
		}
	})
	t.Run("OneHidden", func(t *testing.T) {
		svg := reportchart.Wide.SVG(report(14, func(int) (parley.Cell, parley.Cell) { return shown, hidden }))
		if ms := marks(t, svg); len(ms) != 14 {
			t.Errorf("%d marks over 14 days with one hidden bar each, want 14:\n%s", len(ms), svg)
		}
	})
	for _, days := range []int{7, 14, 30, 31, 60, 90} {
		t.Run(fmt.Sprintf("Days%d", days), func(t *testing.T) {
			svg := reportchart.Wide.SVG(report(days, func(i int) (parley.Cell, parley.Cell) {
				switch i % 3 {
				case 0:
					return hidden, hidden
				case 1:
					return shown, hidden
				}
				return hidden, shown
			}))
			if o := overlapping(marks(t, svg)); o != nil {
				t.Errorf("over %d days, marks %v run into each other", days, o)
			}
		})
	}
}

// The title names the app by its name, cut short with an ellipsis when
// long, so that it fits the chart in either layout.
func TestSVG_TitleNamesTheApp(t *testing.T) {
	for _, tc := range []struct{ name, titled string }{
		{"Films", "Shares of Films, 2026-11-01 to 2026-11-14, by day"},
		{"The Quite Long Name of a Film Club & Friends", "Shares of The Quite Long Name of a Film C…, 2026-11-01 to 2026-11-14, by day"},
	} {
		r := report(14, func(int) (parley.Cell, parley.Cell) { return shown, shown })
		r.AppName = tc.name
		wide := string(reportchart.Wide.SVG(r))
		if want := html.EscapeString(tc.titled); !strings.Contains(wide, ">"+want+"</text>") {
			t.Errorf("the wide chart's title is not %q", tc.titled)
		}
		narrow := string(reportchart.Narrow.SVG(r))
		if want := html.EscapeString("of " + strings.TrimPrefix(strings.Split(tc.titled, ",")[0], "Shares of ")); !strings.Contains(narrow, ">"+want+"</text>") {
			t.Errorf("the narrow chart does not name the app as %q", want)
		}
		if strings.Contains(wide+narrow, r.ClientID) {
			t.Errorf("the chart names the app by its client ID")
		}
	}
}
