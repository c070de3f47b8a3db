// Package reportchart draws an app's share report as an SVG bar chart, for
// the API's ?format=svg and the developer console alike.
package reportchart

import (
	"bytes"
	"fmt"
	"html"
	"math"

	"github.com/parleyhq/parley"
)

// The chart's geometry, in SVG user units.
const (
	chartWidth   = 860
	chartHeight  = 420
	chartLeft    = 70
	chartRight   = 20
	chartTop     = 70
	chartBottom  = 90
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

// SVG draws a report as an SVG bar chart: shares sent and
// recipients who clicked, per period, with a title, axes and a legend. A
// suppressed cell is a short hatched bar marked "<k", never a height.
func SVG(report *parley.ShareReport) []byte {
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
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
	y := func(v float64) float64 { return float64(chartTop) + plotH*(1-v/top) }

	var b bytes.Buffer
	title := fmt.Sprintf("Shares of app %s, %s to %s, by %s", report.ClientID, report.From, report.To, report.Period)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="title desc" font-family="sans-serif" font-size="12">`,
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<title id="title">%s</title>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<desc id="desc">Bars per period: shares sent and recipients who clicked. A hatched bar marked &lt;%d is a number counted from fewer than %d people, which is not shown.</desc>`,
		report.MinPeople, report.MinPeople)
	b.WriteString(`<defs><pattern id="hidden" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#718096" stroke-width="3"/></pattern></defs>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>`, chartLeft, html.EscapeString(title))

	// Legend.
	lx := float64(chartLeft)
	for _, s := range chartSeries {
		fmt.Fprintf(&b, `<rect x="%.1f" y="40" width="12" height="12" fill="%s"/><text x="%.1f" y="50">%s</text>`, lx, s.color, lx+16, s.name)
		lx += 190
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="40" width="12" height="12" fill="url(#hidden)" stroke="#718096"/><text x="%.1f" y="50">&lt;%d: fewer than %d people, not shown</text>`,
		lx, lx+16, report.MinPeople, report.MinPeople)

	// Y axis, its ticks and grid lines.
	for i := 0; i <= chartTicks; i++ {
		v := step * float64(i)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>`, chartLeft, y(v), chartWidth-chartRight, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, chartLeft-8, y(v), formatTick(v))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="#2d3748"/>`, chartLeft, chartTop, chartLeft, y(0))
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#2d3748"/>`, chartLeft, y(0), chartWidth-chartRight, y(0))
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">Count</text>`, float64(chartTop)+plotH/2)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">Period starting (UTC)</text>`, float64(chartLeft)+plotW/2, chartHeight-12)

	// Bars.
	n := len(report.Periods)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">No period in this range has ended yet.</text>`, float64(chartLeft)+plotW/2, float64(chartTop)+plotH/2)
	}
	slot := plotW / float64(max(n, 1))
	barW := slot * 0.8 / float64(len(chartSeries))
	for i := range report.Periods {
		p := &report.Periods[i]
		x0 := float64(chartLeft) + slot*float64(i) + slot*0.1
		for j, s := range chartSeries {
			x := x0 + barW*float64(j)
			c := s.cell(p)
			label := fmt.Sprintf("%s, %s: %s", s.name, p.Start, c.String())
			if c.Suppressed() {
				h := plotH * hiddenHeight
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#hidden)" stroke="#718096"><title>%s</title></rect>`,
					x, y(0)-h, barW, h, html.EscapeString(label))
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`, x+barW/2, y(0)-h-3, html.EscapeString(c.String()))
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
				x, y(c.Value), barW, y(0)-y(c.Value), s.color, html.EscapeString(label))
		}
		fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(-45)" text-anchor="end" font-size="10">%s</text>`,
			x0+slot*0.4, y(0)+14, p.Start)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
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
