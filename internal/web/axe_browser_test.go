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

// checkAccessibility runs axe-core on the page the browser shows, 1280 px
// wide in its light and its dark colour scheme and 375 px wide, and fails
// the test, listing them, on any serious or critical violation; name says
// which page it is. Call it
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
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		must(t, err)
		var report strings.Builder
		for _, v := range found {
			if v.Impact != "serious" && v.Impact != "critical" {
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
