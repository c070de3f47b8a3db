// Package reportchart draws an app's share report as an SVG bar chart, for
// the API's ?format=svg and the developer console alike.
package reportchart

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Layout is the shape of a chart: Wide for a window as wide as a desktop's,
// Narrow for a phone's, where the wide chart, shrunk to fit, would have
// text too small to read.
type Layout struct {
	// The chart's size and the plot's margins inside it, in SVG user units.
	width, height, left, right, top, bottom int
	// font is the size of the chart's text, small that of the periods'
	// dates and of the "<k" marks, titleFont that of its title's first
	// line.
	font, small, titleFont float64
	// title writes the chart's visible title, one line a string.
	title func(r *parley.ShareReport) []string
	// legendAcross is how far apart the legend's items are across; 0 puts
	// them one under the other.
	legendAcross float64
	// upright turns the periods' dates to read from the bottom up, so
	// that they fit a narrow slot, else they lie at 45 degrees; and it
	// leaves out the "<k" marks over hidden cells, which narrow bars have
	// no room for: their hatching, which the legend explains, says it.
	upright bool
	// date writes a period's first day (YYYY-MM-DD) under its bars.
	date func(string) string
}

// Wide is the layout of the API's chart and of the console on a desktop:
// 860 by 440, its title on one line, its legend on one row; its text is
// large enough to read at 10 px or more where a page shows it about 660 px
// wide, as the console does.
var Wide = Layout{
	width: 860, height: 440, left: 70, right: 20, top: 70, bottom: 104,
	font: 14, small: 13, titleFont: 16,
	title:        func(r *parley.ShareReport) []string { return []string{longTitle(r)} },
	legendAcross: 220,
	date:         func(d string) string { return d },
}

// Narrow is the layout of the console on a phone: 320 by 480, shown at
// about its own size on a 375 px screen, so that its text reads at 11 px or
// more; its title and legend take a line each part, its dates are
// upright and without the year, which the title gives.
var Narrow = Layout{
	width: 320, height: 480, left: 38, right: 8, top: 162, bottom: 74,
	font: 13, small: 12, titleFont: 17,
	title: func(r *parley.ShareReport) []string {
		return []string{"Shares by " + r.Period, "of " + titleName(r), r.From + " to " + r.To}
	},
	upright: true,
	date: func(d string) string {
		if len(d) == len("2006-01-02") {
			return d[len("2006-"):]
		}
		return d
	},
}

// The chart's parts that do not change with its layout.
const (
	chartTicks   = 5
	hiddenHeight = 0.06 // of the plot's height: the bar of a suppressed cell
)

// chartSeries are the bars drawn for each period: the cell and its colour.
var chartSeries = []struct {
	name  string
	cell  func(*parley.SharePeriod) parley.Cell
	color string
}{
	{"Shares sent", func(p *parley.SharePeriod) parley.Cell { return p.SharesSent }, "#2b6cb0"},
	{"Recipients who clicked", func(p *parley.SharePeriod) parley.Cell { return p.Clicked }, "#c05621"},
}

// longTitle is the chart's title in full, one line.
func longTitle(r *parley.ShareReport) string {
	return fmt.Sprintf("Shares of %s, %s to %s, by %s", titleName(r), r.From, r.To, r.Period)
}

// titleNameLen is the most characters of the app's name a title gives,
// so that the title fits the chart in either layout.
const titleNameLen = 32

// titleName is the app's name as a title gives it: cut short, with an
// ellipsis, past titleNameLen characters.
func titleName(r *parley.ShareReport) string {
	if utf8.RuneCountInString(r.AppName) <= titleNameLen {
		return r.AppName
	}
	return string([]rune(r.AppName)[:titleNameLen-1]) + "…"
}

// SVG draws a report as an SVG bar chart in the Wide layout.
func SVG(report *parley.ShareReport) []byte { return Wide.SVG(report) }

// SVG draws a report as an SVG bar chart in the layout: shares sent and
// recipients who clicked, per period, with a title, axes and a legend. A
// suppressed cell is a short hatched bar, never a height, marked "<k"
// where the mark fits above it: one mark over a period whose bars are
// all hidden.
// When the periods' dates would crowd each other, only every second (or
// third...) is written.
func (l Layout) SVG(report *parley.ShareReport) []byte {
	plotW := float64(l.width - l.left - l.right)
	plotH := float64(l.height - l.top - l.bottom)
	top := 0.0
	for i := range report.Periods {
		for _, s := range chartSeries {
			if c := s.cell(&report.Periods[i]); !c.Suppressed() {
				top = max(top, c.Value)
			}
		}
	}
	step := niceStep(top / chartTicks)
	top = step * chartTicks
	y := func(v float64) float64 { return float64(l.top) + plotH*(1-v/top) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="title desc" font-family="sans-serif" font-size="%g">`,
		l.width, l.height, l.width, l.height, l.font)
	fmt.Fprintf(&b, `<title id="title">%s</title>`, html.EscapeString(longTitle(report)))
	fmt.Fprintf(&b, `<desc id="desc">Bars per period: shares sent and recipients who clicked. A hatched bar marked &lt;%d is a number counted from fewer than %d people, which is not shown.</desc>`,
		report.MinPeople, report.MinPeople)
	b.WriteString(`<defs><pattern id="hidden" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#718096" stroke-width="3"/></pattern></defs>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, l.width, l.height)

	// Title, then the legend below it.
	left := float64(l.left)
	if l.legendAcross == 0 {
		left = 8 // a narrow chart's title and legend use its whole width
	}
	line := 28.0
	for i, s := range l.title(report) {
		if i == 0 {
			fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="%g" font-weight="bold">%s</text>`, left, line, l.titleFont, html.EscapeString(s))
		} else {
			fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`, left, line, html.EscapeString(s))
		}
		line += l.font + 6
	}
	type legendItem struct{ fill, text string }
	var legend []legendItem
	for _, s := range chartSeries {
		legend = append(legend, legendItem{fmt.Sprintf(`fill="%s"`, s.color), s.name})
	}
	legend = append(legend, legendItem{`fill="url(#hidden)" stroke="#718096"`, fmt.Sprintf("<%d: fewer than %d people, not shown", report.MinPeople, report.MinPeople)})
	lx, ly := left, line
	if l.legendAcross > 0 {
		ly = 40 // below the title's one line
	}
	for _, item := range legend {
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="12" height="12" %s/><text x="%g" y="%g">%s</text>`,
			lx, ly, item.fill, lx+16, ly+10, html.EscapeString(item.text))
		if l.legendAcross > 0 {
			lx += l.legendAcross
		} else {
			ly += l.font + 6
		}
	}

	// Y axis, its ticks and grid lines.
	for i := 0; i <= chartTicks; i++ {
		v := step * float64(i)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>`, l.left, y(v), l.width-l.right, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, l.left-6, y(v), formatTick(v))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="#2d3748"/>`, l.left, l.top, l.left, y(0))
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#2d3748"/>`, l.left, y(0), l.width-l.right, y(0))
	if l.legendAcross > 0 {
		fmt.Fprintf(&b, `<text transform="translate(20 %.1f) rotate(-90)" text-anchor="middle">Count</text>`, float64(l.top)+plotH/2)
	} else {
		// No room beside a narrow plot: the axis's name sits above it.
		fmt.Fprintf(&b, `<text x="%g" y="%d">Count</text>`, left, l.top-12)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">Period starting (UTC)</text>`, float64(l.left)+plotW/2, l.height-12)

	// Bars.
	n := len(report.Periods)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">No period in this range has ended yet.</text>`, float64(l.left)+plotW/2, float64(l.top)+plotH/2)
	}
	slot := plotW / float64(max(n, 1))
	barW := slot * 0.8 / float64(len(chartSeries))
	// Dates at an angle need about a line and a half of room across each,
	// upright ones a line.
	room := l.small * 1.5
	if l.upright {
		room = l.small * 1.2
	}
	every := max(1, int(math.Ceil(room/slot)))
	hiddenH := plotH * hiddenHeight
	for i := range report.Periods {
		p := &report.Periods[i]
		x0 := float64(l.left) + slot*float64(i) + slot*0.1
		hidden := 0
		for j, s := range chartSeries {
			x := x0 + barW*float64(j)
			c := s.cell(p)
			label := fmt.Sprintf("%s, %s: %s", s.name, p.Start, c.String())
			if c.Suppressed() {
				hidden++
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#hidden)" stroke="#718096"><title>%s</title></rect>`,
					x, y(0)-hiddenH, barW, hiddenH, html.EscapeString(label))
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
				x, y(c.Value), barW, y(0)-y(c.Value), s.color, html.EscapeString(label))
		}
		if !l.upright {
			l.hiddenMarks(&b, p, hidden, x0, barW, y(0)-hiddenH-3)
		}
		if i%every != 0 {
			continue
		}
		date := html.EscapeString(l.date(p.Start))
		if l.upright {
			fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="end" dominant-baseline="middle" font-size="%g">%s</text>`,
				x0+slot*0.4, y(0)+6, l.small, date)
		} else {
			fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(-45)" text-anchor="end" font-size="%g">%s</text>`,
				x0+slot*0.4, y(0)+14, l.small, date)
		}
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// hiddenMarks writes the "<k" marks over a period's hidden bars, whose
// baseline is at y: one over the period's bars, centred, when all of them
// are hidden, else one over each hidden bar. A mark is left out where it
// would be wider than the bars under it, so that marks never run into one
// another or into a bar beside them: the hatching, which the legend
// explains, says it.
func (l Layout) hiddenMarks(b *bytes.Buffer, p *parley.SharePeriod, hidden int, x0, barW, y float64) {
	mark := func(x, room float64, text string) {
		if markWidth(text, l.small) > room {
			return
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%g">%s</text>`, x, y, l.small, html.EscapeString(text))
	}
	if hidden == len(chartSeries) && sameMarks(p) {
		mark(x0+barW*float64(hidden)/2, barW*float64(hidden), chartSeries[0].cell(p).String())
		return
	}
	for j, s := range chartSeries {
		if c := s.cell(p); c.Suppressed() {
			mark(x0+barW*(float64(j)+0.5), barW, c.String())
		}
	}
}

// sameMarks reports whether every series of the period reads the same.
func sameMarks(p *parley.SharePeriod) bool {
	for _, s := range chartSeries {
		if s.cell(p).String() != chartSeries[0].cell(p).String() {
			return false
		}
	}
	return true
}

// markWidth is about how wide a short text of digits and signs runs in a
// sans-serif font of the size given: at most 0.6 of the size a character.
func markWidth(text string, size float64) float64 {
	return 0.6 * size * float64(len([]rune(text)))
}

// niceStep rounds a tick step up to 1, 2 or 5 times a power of ten, at
// least 1: counts are whole.
func niceStep(raw float64) float64 {
	if raw <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v float64) string { return fmt.Sprintf("%g", v) }
