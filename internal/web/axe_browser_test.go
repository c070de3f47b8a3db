package web_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, pinned and vendored (testdata/README.md), so that
// the browser tests need nothing but Go and chromium.
//
//go:embed testdata/axe.min.js
var axeSource string

// axeViolation is one rule a page breaks, as axe.run reports it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target         []any  `json:"target"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeRun runs every axe-core rule on the page and returns the violations.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact, help: v.help,
	nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary})),
})))`

// overflowing lists what runs past the right edge of the page or of a box
// that scrolls: the page wider than the window, or a scrolling box (a
// panel, the page's main pane) wider inside than it is. Boxes that clip on
// purpose are left out: form fields, boxes that end their text with an
// ellipsis, a .table-wrap, which scrolls a wide table on purpose, and
// text hidden from sight for screen readers (a box 1 px wide).
const overflowing = `(() => {
	const found = [], root = document.documentElement;
	if (root.scrollWidth > innerWidth) found.push("the page is " + root.scrollWidth + " px wide");
	for (const el of document.body.querySelectorAll("*")) {
		const style = getComputedStyle(el);
		if (style.overflowX === "visible" || style.textOverflow === "ellipsis" || el.matches("input, textarea, select, .table-wrap") ||
			el.clientWidth <= 1 || el.scrollWidth <= el.clientWidth) continue;
		const wide = [...el.querySelectorAll("*")].filter(c => c.getBoundingClientRect().right > el.getBoundingClientRect().right)
			.map(c => c.tagName.toLowerCase() + (c.id ? "#" + c.id : "") + (c.className ? "." + String(c.className).trim().replace(/ +/g, ".") : ""));
		found.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim().replace(/ +/g, ".") : "") +
			" is " + el.scrollWidth + " px wide inside, " + el.clientWidth + " px outside: " + wide.slice(0, 5).join(", "));
	}
	return found;
})()`

// checkAccessibility runs axe-core on the page the browser shows, 1280 px
// wide in its light and its dark colour scheme and 375 px wide, and fails
// the test, listing them, on any serious or critical violation, or content
// outside the page's landmarks; name says
// which page it is. At 375 px it also fails when anything runs past the
// screen's edge, so that a phone's reader must scroll sideways (WCAG
// 1.4.10, reflow; see overflowing). Call it
// on each page a browser test reaches, once the page is as the member sees
// it:
//
//	checkAccessibility(t, alice, "inbox")
func checkAccessibility(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined"`))
	must(t, err)
	if !loaded {
		// Evaluated through the DevTools protocol, the script is not held
		// to the page's Content-Security-Policy, which allows no inline script.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true"))
		must(t, err)
	}
	// It leaves the page 1280 px wide in the browser's colour scheme.
	defer func() { must(t, chromedp.Do(ctx, colorScheme(""))) }()
	for _, view := range []struct {
		width  int64
		scheme string
	}{{375, "light"}, {1280, "dark"}, {1280, "light"}} {
		must(t, chromedp.Do(ctx, chromedp.EmulateViewport(view.width, 800), colorScheme(view.scheme)))
		if view.width == 375 {
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowing))
			must(t, err)
			if len(wide) > 0 {
				t.Errorf("on the %s page at 375 px, content runs past the right edge:\n  %s", name, strings.Join(wide, "\n  "))
			}
		}
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		must(t, err)
		var report strings.Builder
		for _, v := range found {
			// All content in landmarks (region) too: a moderate rule, but
			// one a page keeps by its layout alone.
			if v.Impact != "serious" && v.Impact != "critical" && v.ID != "region" {
				continue
			}
			fmt.Fprintf(&report, "\n  %s (%s): %s", v.ID, v.Impact, v.Help)
			for _, n := range v.Nodes {
				fmt.Fprintf(&report, "\n    %v: %s", n.Target, strings.ReplaceAll(n.FailureSummary, "\n", " "))
			}
		}
		if report.Len() > 0 {
			t.Errorf("axe-core finds serious or critical violations on the %s page (%d px, %s):%s", name, view.width, view.scheme, report.String())
		}
	}
}

// unhungLabels lists the labels of tick boxes (checkboxes, radio buttons)
// whose text, wrapped, goes on under the box rather than under its own
// first line.
const unhungLabels = `[...document.querySelectorAll("label")].filter(l =>
	l.firstChild === l.firstElementChild && l.firstElementChild.matches("input[type=checkbox], input[type=radio]") && l.offsetParent
).filter(l => {
	const rects = [], walk = document.createTreeWalker(l, NodeFilter.SHOW_TEXT);
	let first = true;
	for (let n = walk.nextNode(); n; n = walk.nextNode()) {
		const r = document.createRange(), from = first ? n.data.search(/\S/) : 0;
		if (from < 0) continue;
		first = false;
		r.setStart(n, from); r.setEnd(n, n.data.length);
		rects.push(...[...r.getClientRects()].filter(b => b.width > 0));
	}
	if (rects.length === 0) return false;
	const top = Math.min(...rects.map(b => b.top)), later = rects.filter(b => b.top >= top + 8);
	if (later.length === 0) return false;
	const start = Math.min(...rects.filter(b => b.top < top + 8).map(b => b.left));
	return Math.abs(Math.min(...later.map(b => b.left)) - start) > 3;
}).map(l => l.innerText)`

// checkHangingLabels fails the test when, 375 px wide, a tick box's label
// wraps under the box rather than under its own text; name says which
// page it is.
func checkHangingLabels(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(375, 800)))
	defer func() { must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800))) }()
	unhung, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](unhungLabels))
	must(t, err)
	if len(unhung) > 0 {
		t.Errorf("on the %s page at 375 px, these labels wrap under their tick box: %q", name, unhung)
	}
}
